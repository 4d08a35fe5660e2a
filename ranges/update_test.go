package ranges

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// awsLike serves body like S3 does: ETag and Last-Modified, 304 for a
// matching conditional request. It records the request headers it saw.
type awsLike struct {
	mu      sync.Mutex
	body    []byte
	etag    string
	status  int // when set, answer this status with body
	ctype   string
	seen    []http.Header
	answers []int
}

func (a *awsLike) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, r.Header.Clone())
	code := http.StatusOK
	switch {
	case a.status != 0:
		code = a.status
	case a.etag != "" && r.Header.Get("If-None-Match") == a.etag:
		code = http.StatusNotModified
	}
	a.answers = append(a.answers, code)
	if a.etag != "" {
		w.Header().Set("ETag", a.etag)
	}
	w.Header().Set("Last-Modified", "Sat, 22 Aug 2026 15:17:06 GMT")
	if a.ctype != "" {
		w.Header().Set("Content-Type", a.ctype)
	}
	w.WriteHeader(code)
	if code != http.StatusNotModified {
		w.Write(a.body)
	}
}

func (a *awsLike) set(f func(*awsLike)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUpdate(t *testing.T) {
	good := readFile(t, "testdata/small.json")
	newer := readFile(t, "testdata/newer.json")
	srv := &awsLike{body: good, etag: `"v1"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := UpdateOptions{URL: ts.URL + "/ip-ranges.json", CacheDir: dir, Client: ts.Client()}
	cachePath := filepath.Join(dir, CacheFile)

	// First download: written, no conditional headers.
	res, err := Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.NotModified || res.Path != cachePath || !bytes.Equal(readFile(t, cachePath), good) {
		t.Fatalf("first update: %+v", res)
	}
	if h := srv.seen[0]; h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" {
		t.Errorf("first request was conditional: %v", h)
	}

	// Second: conditional, 304, cache untouched.
	res, err = Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if h := srv.seen[1]; h.Get("If-None-Match") != `"v1"` || h.Get("If-Modified-Since") != "Sat, 22 Aug 2026 15:17:06 GMT" {
		t.Errorf("second request headers: %v", h)
	}
	if !res.NotModified || res.Set == nil || srv.answers[1] != http.StatusNotModified {
		t.Fatalf("second update: %+v", res)
	}

	// Every bad answer leaves the good cache byte for byte.
	bad := []struct {
		name   string
		setup  func(*awsLike)
		want   string
		input  bool // an InputError (exit 2), else a plain error (exit 1)
		offset bool
	}{
		{"truncated JSON", func(a *awsLike) { a.body, a.etag = newer[:len(newer)-40], `"v2"` }, "file ends early", true, true},
		{"captive portal", func(a *awsLike) {
			a.body, a.etag, a.ctype = []byte("<html><head><title>Hotel Wi-Fi</title></head><body>Accept the terms</body></html>"), `"portal"`, "text/html"
		}, "HTML page", true, true},
		{"server error", func(a *awsLike) { a.body, a.status, a.etag = []byte("oops"), 500, "" }, "HTTP 500 Internal Server Error", false, false},
		{"older file", func(a *awsLike) { a.body, a.status, a.etag = readFile(t, "testdata/old-format.json"), 0, `"old"` }, "refusing createDate 2016-11-09-21-59-08: older than the cached 2026-08-22-15-17-05", true, false},
		{"empty body", func(a *awsLike) { a.body, a.status, a.etag = nil, 0, `"empty"` }, "file is empty", true, false},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(tc.setup)
			_, err := Update(ctx, opts)
			if err == nil {
				t.Fatal("update accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "the cache is unchanged") {
				t.Errorf("err = %q, want %q and that the cache is unchanged", err, tc.want)
			}
			var ie *InputError
			if errors.As(err, &ie) != tc.input {
				t.Errorf("input error = %v, want %v", errors.As(err, &ie), tc.input)
			}
			if tc.offset && (ie == nil || ie.Offset < 0) {
				t.Errorf("no byte offset in %q", err)
			}
			if !bytes.Equal(readFile(t, cachePath), good) {
				t.Fatal("the good cache was damaged")
			}
			if s, err := Open(cachePath); err != nil || s.SyncToken != "1787411825" {
				t.Fatalf("cache no longer loads: %v", err)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
			if len(left) > 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}

	// A newer file replaces the cache.
	srv.set(func(a *awsLike) { a.body, a.status, a.etag, a.ctype = newer, 0, `"v3"`, "" })
	res, err = Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.NotModified || res.Unchanged || !res.Previous.Equal(mustLoad(t, "testdata/small.json").CreateDate) || !bytes.Equal(readFile(t, cachePath), newer) {
		t.Fatalf("newer update: %+v", res)
	}
	// The same file again (no ETag match, e.g. a mirror): unchanged.
	srv.set(func(a *awsLike) { a.etag = "" })
	res, err = Update(ctx, opts)
	if err != nil || !res.Unchanged {
		t.Fatalf("same file: %+v %v", res, err)
	}
}

func TestUpdateUnreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there now: connection refused
	dir := t.TempDir()
	_, err := Update(context.Background(), UpdateOptions{URL: url, CacheDir: dir})
	var ie *InputError
	if err == nil || errors.As(err, &ie) || !strings.Contains(err.Error(), "the cache is unchanged") {
		t.Fatalf("err = %v, want a download error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, CacheFile)); !os.IsNotExist(err) {
		t.Errorf("a cache file appeared: %v", err)
	}
}

// TestOpenURL loads --ranges https://… from a real (local) server; an HTML
// answer is an input error naming the URL and offset, a 404 a plain error.
func TestOpenURL(t *testing.T) {
	good := readFile(t, "testdata/small.json")
	mux := http.NewServeMux()
	mux.HandleFunc("/ip-ranges.json", func(w http.ResponseWriter, r *http.Request) { w.Write(good) })
	mux.HandleFunc("/portal", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("\n  <html>log in</html>")) })
	ts := httptest.NewServer(mux)
	defer ts.Close()
	s, err := Open(ts.URL + "/ip-ranges.json")
	if err != nil || s.Source != ts.URL+"/ip-ranges.json" || len(s.Prefixes) != 9 {
		t.Fatalf("good URL: %v %v", s, err)
	}
	_, err = Open(ts.URL + "/portal")
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), ts.URL+"/portal: byte 3: this is an HTML page") {
		t.Fatalf("portal: %v", err)
	}
	_, err = Open(ts.URL + "/missing")
	if err == nil || errors.As(err, &ie) || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("404: %v", err)
	}
}
