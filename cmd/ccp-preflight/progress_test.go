package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressShare: the bar follows the checks, and through the media
// phase (most checks done, media measuring for --duration) it keeps moving
// with the clock instead of stopping at the share of checks done; it never
// reaches 100 % before the run ends.
func TestProgressShare(t *testing.T) {
	const exp, dl = 6 * time.Second, 12 * time.Second
	for _, c := range []struct {
		done, total int
		elapsed     time.Duration
		lo, hi      float64
	}{
		{0, 71, 0, 0, 0.01},
		{60, 71, 500 * time.Millisecond, 0.85, 0.86}, // quick checks done: about their share
		{60, 71, 3 * time.Second, 0.91, 0.93},        // media phase: the clock fills the rest
		{60, 71, 6 * time.Second, 0.99, 0.99},
		{70, 71, 9 * time.Second, 0.99, 0.99},
		{71, 71, 20 * time.Second, 0.99, 0.99},
	} {
		got := progressShare(c.done, c.total, c.elapsed, exp, dl)
		if got < c.lo || got > c.hi {
			t.Errorf("progressShare(%d/%d, %v) = %.3f, want %.2f–%.2f", c.done, c.total, c.elapsed, got, c.lo, c.hi)
		}
	}
	// Monotonic in time for a fixed count, and moving all through the
	// media phase (until the expected end).
	prev := 0.0
	for e := time.Duration(0); e < 15*time.Second; e += 100 * time.Millisecond {
		v := progressShare(60, 71, e, exp, dl)
		if e > 0 && e < 5*time.Second && v <= prev {
			t.Fatalf("stuck at %.3f at %v", v, e)
		}
		if v < prev {
			t.Fatalf("went back at %v: %.3f < %.3f", e, v, prev)
		}
		prev = v
	}
}

// TestProgressFinishClearsTheLine: after finish, the bar's line is blank
// and the cursor at its start, so the report's verdict is not glued to
// "checking (71/71) 98% |███…|".
func TestProgressFinishClearsTheLine(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, time.Second, 2*time.Second)
	p.update(5, 10)
	time.Sleep(250 * time.Millisecond) // past the bar's 100 ms render throttle
	p.update(6, 10)
	p.finish()
	out := b.String()
	if !strings.Contains(out, "checking (") {
		t.Fatalf("the bar never drew: %q", out)
	}
	last := out[strings.LastIndex(out, "checking ("):]
	i := strings.LastIndex(last, "\r")
	if i < 0 || strings.TrimSpace(last[strings.LastIndex(last[:i], "\r")+1:i]) != "" || i != len(last)-1 {
		t.Errorf("the output does not end with the line cleared (\\r, blanks, \\r): %q", last)
	}
	var nilBar *progress
	nilBar.update(1, 2) // a nil bar (--no-progress) does nothing
	nilBar.finish()
}
