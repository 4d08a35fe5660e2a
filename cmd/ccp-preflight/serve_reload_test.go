package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/preflight"
)

// rangesWithDate is ranges/testdata/small.json with another createDate.
func rangesWithDate(t *testing.T, date string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../ranges/testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(b, []byte(`"createDate": "2026-08-22-15-17-05"`), []byte(`"createDate": "`+date+`"`), 1)
}

// writeRanges replaces path the way ranges update does (a new file renamed
// over it) and moves its time on, so the change shows on any file system.
func writeRanges(t *testing.T, path string, b []byte, at time.Time) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, at, at); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestRangesReloader: serve's Config follows the ranges file — a newer
// file is picked up before the next run, a damaged one keeps the previous
// data (and says so), an unchanged one is not read again.
func TestRangesReloader(t *testing.T) {
	t.Setenv(config.EnvICEServers, "")
	t.Setenv(config.EnvICEServersFile, "")
	p := filepath.Join(t.TempDir(), "ip-ranges.json")
	now := time.Now()
	writeRanges(t, p, rangesWithDate(t, "2026-08-22-15-17-05"), now.Add(-time.Hour))
	o := preflight.Options{Region: "us-east-1", FailOn: "fail", Ranges: p, Skip: offline}
	cfg, err := preflight.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := newRangesReloader(o, cfg, &log)
	if r.current() != cfg || log.Len() != 0 {
		t.Fatalf("unchanged file: a new Config or a log line (%q)", log.String())
	}
	writeRanges(t, p, rangesWithDate(t, "2026-11-30-10-00-00"), now)
	if got := r.current().Ranges.CreateDate.Format(time.DateOnly); got != "2026-11-30" {
		t.Errorf("after the file changed: createDate %s, want 2026-11-30", got)
	}
	if !strings.Contains(log.String(), "changed: reloaded, now using "+p+" of 2026-11-30") {
		t.Errorf("log %q", log.String())
	}
	writeRanges(t, p, []byte(`{"syncToken":`), now.Add(time.Minute))
	if got := r.current().Ranges.CreateDate.Format(time.DateOnly); got != "2026-11-30" {
		t.Errorf("a damaged file replaced the data: createDate %s", got)
	}
	if !strings.Contains(log.String(), "reloading failed") || !strings.Contains(log.String(), "keep the ranges of "+p+" of 2026-11-30") {
		t.Errorf("log %q", log.String())
	}
	// SIGHUP's path: reload now, whatever the file's time.
	writeRanges(t, p, rangesWithDate(t, "2026-12-01-00-00-00"), now.Add(time.Minute))
	r.reload("SIGHUP")
	if got := r.cfg.Ranges.CreateDate.Format(time.DateOnly); got != "2026-12-01" {
		t.Errorf("after SIGHUP: createDate %s", got)
	}
}
