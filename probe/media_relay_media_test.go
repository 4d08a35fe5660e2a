package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestRTTFromReport(t *testing.T) {
	sent := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lsr := ntp32(sent)
	dlsr := uint32(65536 / 10) // 100 ms held at the receiver
	got, ok := rttFromReport(sent.Add(150*time.Millisecond), lsr, dlsr)
	if !ok || got < 49*time.Millisecond || got > 51*time.Millisecond {
		t.Fatalf("rtt %v ok %v, want 50 ms", got, ok)
	}
	if _, ok := rttFromReport(sent, 0, 0); ok {
		t.Error("LSR 0 (no sender report yet) must give no sample")
	}
	if _, ok := rttFromReport(sent, lsr, 65536); ok {
		t.Error("a negative round trip must be dropped")
	}
}

func TestGradeRelay(t *testing.T) {
	th, _ := quality.Profile("connect")
	lvl, why := gradeRelay(th, map[string]float64{"rtt_ms": 20, "jitter_ms": 5, "loss_ratio": 0})
	if lvl != result.Pass || why != "" {
		t.Fatalf("%s %q", lvl, why)
	}
	lvl, why = gradeRelay(th, map[string]float64{"rtt_ms": 250, "jitter_ms": 5, "loss_ratio": 0.05})
	if lvl != result.Fail {
		t.Fatalf("%s %q", lvl, why)
	}
	for _, want := range []string{"packet loss 5% is above the fail threshold 3%", "Twilio", "round trip 250 ms is above the warn threshold 200 ms", "AWS"} {
		if !strings.Contains(why, want) {
			t.Errorf("%q lacks %q", why, want)
		}
	}
}
