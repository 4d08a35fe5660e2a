//go:build !windows

package main

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeReloadsOnSIGHUP runs serve with a ranges file, replaces the
// file and sends the process SIGHUP: serve reloads at once (it says so),
// and its next run reports the new data.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ip-ranges.json")
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	writeRanges(t, p, rangesWithDate(t, "2026-08-22-15-17-05"), at)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, errb := startServe(t, ctx, "--listen", "127.0.0.1:0", "--interval", "10s", "--region", "us-east-1", "--skip", offline, "--ranges", p)
	base := "http://" + addr
	if r := waitReport(t, base, 5*time.Second); !strings.HasPrefix(r.Ranges.CreateDate, "2026-08-22") {
		t.Fatalf("first run: ranges of %s", r.Ranges.CreateDate)
	}
	// The same time and size: only the signal tells serve.
	writeRanges(t, p, rangesWithDate(t, "2026-11-30-10-00-00"), at)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(errb.String(), "SIGHUP: reloaded, now using "+p+" of 2026-11-30") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged after SIGHUP:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The next run (one interval after the first) uses the new data.
	deadline = time.Now().Add(20 * time.Second)
	for {
		r := waitReport(t, base, time.Second)
		if strings.HasPrefix(r.Ranges.CreateDate, "2026-11-30") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the runs after SIGHUP still use %s", r.Ranges.CreateDate)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	<-done
}
