package ranges

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

// TestUpdateCleansStaleTemps (issue #15 item 8): temp files a killed
// update left behind (kill -9 between creating and renaming them) are
// removed by the next update once they are older than staleTempAge; a
// fresh one (an update running now) and other files are kept. Before the
// fix they stayed for ever.
func TestUpdateCleansStaleTemps(t *testing.T) {
	good := readFile(t, "testdata/small.json")
	srv := &awsLike{body: good, etag: `"v1"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	old := time.Now().Add(-2 * staleTempAge)
	write := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := []string{
		write(".ip-ranges.json.tmp-123456", old),
		write(".ip-ranges.json.tmp-987654", old),
		write(".ip-ranges.json.meta.tmp-555", old),
	}
	kept := []string{
		write(".ip-ranges.json.tmp-fresh1", time.Now()), // an update running now
		write(".other.json.tmp-1", old),                 // not ours
		write("notes.txt", old),
	}
	if _, err := Update(context.Background(), UpdateOptions{URL: ts.URL, CacheDir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale temp file %s is still there (%v)", filepath.Base(p), err)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
	if _, err := LoadBytes(readFile(t, filepath.Join(dir, CacheFile)), "cache"); err != nil {
		t.Errorf("the cache is not intact: %v", err)
	}
}

// TestUpdateDamagedMeta: a metadata file whose validators are not valid
// header values (edited, damaged) costs a full download, not a failed
// update.
func TestUpdateDamagedMeta(t *testing.T) {
	good := readFile(t, "testdata/small.json")
	srv := &awsLike{body: good, etag: `"v1"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	if _, err := Update(context.Background(), UpdateOptions{URL: ts.URL, CacheDir: dir}); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, CacheFile+".meta")
	os.WriteFile(meta, []byte(`{"url":"`+ts.URL+`","etag":"\"v1\"\r\nX-Injected: 1","last_modified":"x\u0000y"}`), 0o644)
	res, err := Update(context.Background(), UpdateOptions{URL: ts.URL, CacheDir: dir})
	if err != nil || res.NotModified {
		t.Fatalf("damaged meta: %+v %v (want a full, successful download)", res, err)
	}
}

// FuzzUpdateMeta feeds arbitrary bytes as the ranges update metadata file
// (ip-ranges.json.meta, whose validators a server sent): parseMeta must
// never panic, and what it keeps must be valid, bounded header values.
func FuzzUpdateMeta(f *testing.F) {
	f.Add([]byte(`{"url":"https://ip-ranges.amazonaws.com/ip-ranges.json","etag":"\"abc\"","last_modified":"Sat, 22 Aug 2026 15:17:06 GMT","fetched":"2026-12-01T00:00:00Z"}`))
	f.Add([]byte(`{"etag":"a\r\nb"}`))
	f.Add([]byte(`{"etag":` + `"` + strings.Repeat("x", 2000) + `"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := parseMeta(b)
		for _, v := range []string{m.ETag, m.LastModified} {
			if len(v) > maxValidator || !httpguts.ValidHeaderFieldValue(v) {
				t.Fatalf("kept %q", v)
			}
		}
	})
}
