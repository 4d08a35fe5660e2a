//go:build linux

package main

import (
	"math"
	"testing"
)

// TestUplinkWraps: a stream whose RTP timestamp and sequence number wrap
// mid-call, on a path with no jitter and one lost packet, reads as no
// jitter and one loss (the float64 arithmetic this replaced reported
// 5,592 s of jitter at the wrap).
func TestUplinkWraps(t *testing.T) {
	var u uplink
	ts, seq := uint32(math.MaxUint32-960*5), uint16(math.MaxUint16-3)
	for i := 0; i < 20; i++ {
		if i != 12 {
			u.add(seq, ts, float64(i*960)+1000)
		}
		ts += 960
		seq++
	}
	if u.jitter > 1e-9 {
		t.Errorf("jitter %.1f clock units on a path with none", u.jitter)
	}
	if u.received != 19 || u.lost() != 1 {
		t.Errorf("received %d, lost %d; want 19 and 1", u.received, u.lost())
	}
}

// TestUplinkJitter: arrivals alternately 480 units (10 ms at 48 kHz) late
// converge on the RFC 3550 estimate of 480, and a packet that arrives
// after a later one counts as received but not toward jitter.
func TestUplinkJitter(t *testing.T) {
	var u uplink
	for i := 0; i < 400; i++ {
		late := 0.0
		if i%2 == 1 {
			late = 480
		}
		u.add(uint16(i), uint32(i*960), float64(i*960)+late)
	}
	if math.Abs(u.jitter-480) > 1 {
		t.Errorf("jitter %.1f units, want 480", u.jitter)
	}
	before := u.jitter
	u.add(100, 100*960, 401*960) // a straggler, far out of order
	if u.jitter != before {
		t.Errorf("a reordered packet moved jitter from %.1f to %.1f", before, u.jitter)
	}
	if u.received != 401 || u.lost() != -1 {
		t.Errorf("received %d, lost %d; want 401 and -1 (a duplicate)", u.received, u.lost())
	}
}
