package quality

import (
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestJudge(t *testing.T) {
	c, err := Profile("connect")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		metric string
		v      float64
		want   result.Status
		reason []string
	}{
		{"rtt_ms", 150, result.Pass, nil},
		{"rtt_ms", 250, result.Warn, []string{"250 ms", "above the warn threshold 200 ms", "AWS CCP connectivity tool"}},
		{"rtt_ms", 401, result.Fail, []string{"above the fail threshold 400 ms"}},
		{"loss_ratio", 0.02, result.Warn, []string{"2%", "warn threshold 1%", "Twilio"}},
		{"loss_ratio", 0.031, result.Fail, []string{"3.1%", "fail threshold 3%"}},
		{"mos", 3.5, result.Warn, []string{"3.50", "below the warn threshold 3.60", "G.107"}},
		{"mos", 3.0, result.Fail, []string{"below the fail threshold 3.10"}},
		{"mos", 4.2, result.Pass, nil},
		{"jitter_ms", 30, result.Pass, nil}, // at the bound passes: "> 30 ms" warns
	}
	for _, k := range cases {
		v := c.Judge(k.metric, k.v, "x")
		if v.Level != k.want {
			t.Errorf("%s %v: level %s, want %s (%s)", k.metric, k.v, v.Level, k.want, v.Reason)
		}
		for _, s := range k.reason {
			if !strings.Contains(v.Reason, s) {
				t.Errorf("%s %v: reason %q lacks %q", k.metric, k.v, v.Reason, s)
			}
		}
		if k.want == result.Pass && v.Reason != "" {
			t.Errorf("%s %v: pass with reason %q", k.metric, k.v, v.Reason)
		}
	}
	s, _ := Profile("strict")
	if v := s.Judge("rtt_ms", 150, "mean RTT"); v.Level != result.Warn || !strings.Contains(v.Reason, "Microsoft Teams") {
		t.Errorf("strict rtt 150: %+v", v)
	}
}

// log makes n packets every 20 ms with a constant rtt, lost where lost(i).
func mkLog(n int, rtt time.Duration, lost func(int) bool) []Packet {
	var l []Packet
	for i := 0; i < n; i++ {
		p := Packet{Seq: i, Sent: time.Duration(i) * 20 * time.Millisecond}
		if !lost(i) {
			p.Received, p.Recv = true, p.Sent+rtt
		}
		l = append(l, p)
	}
	return l
}

// TestWindows: 1 % loss over the run, all of it in one 15 s window, is
// judged on that window (Microsoft's "in any 15 s").
func TestWindows(t *testing.T) {
	// 45 s = 3 windows of 750 packets; 19 losses in the second window.
	l := mkLog(2250, 30*time.Millisecond, func(i int) bool { return i >= 760 && i < 1500 && i%40 == 0 })
	s := Analyze(l, 20*time.Millisecond)
	if len(s.Windows) != 3 {
		t.Fatalf("%d windows, want 3", len(s.Windows))
	}
	if s.WorstLossWindow != 1 || s.Windows[1].Lost != 19 {
		t.Fatalf("worst window %d with %+v", s.WorstLossWindow, s.Windows)
	}
	c, _ := Profile("connect")
	lvl, reason := Worst(c.JudgeStream(s))
	if s.LossRatio > 0.01 || lvl != result.Warn || !strings.Contains(reason, "worst 15 s window") {
		t.Fatalf("overall loss %.4f, level %s, reason %q", s.LossRatio, lvl, reason)
	}
	if len(s.Seconds) != 45 || s.Seconds[0].Sent != 50 {
		t.Fatalf("per-second series: %d samples, first %+v", len(s.Seconds), s.Seconds[0])
	}
}

func TestAnalyze(t *testing.T) {
	// Alternating transit 30/34 ms: |D| = 4 ms for every pair.
	var l []Packet
	for i := 0; i < 100; i++ {
		rtt := 30 * time.Millisecond
		if i%2 == 1 {
			rtt = 34 * time.Millisecond
		}
		p := Packet{Seq: i, Sent: time.Duration(i) * 20 * time.Millisecond, Received: i < 40 || i >= 45}
		p.Recv = p.Sent + rtt
		l = append(l, p)
	}
	l[50].Dups = 1
	l[60].Reordered = true
	s := Analyze(l, 20*time.Millisecond)
	near(t, "loss", s.LossRatio, 0.05, 1e-12)
	near(t, "burst", s.BurstLossRatio, 0.5, 1e-12) // 5 of 10 in 200 ms
	near(t, "jitter", s.JitterMS, 4, 1e-9)
	near(t, "rtt mean", s.RTTMeanMS, 32, 0.05)
	near(t, "rtt min", s.RTTMinMS, 30, 0)
	near(t, "rtt max", s.RTTMaxMS, 34, 0)
	near(t, "dup", s.DuplicateRatio, 1.0/95, 1e-12)
	near(t, "reorder", s.ReorderRatio, 1.0/95, 1e-12)
	if s.BurstR < 4 {
		t.Errorf("BurstR %.2f for one burst of 5, want bursty (> 4)", s.BurstR)
	}
	c, _ := Profile("connect")
	vs := c.JudgeStream(s)
	if vs[0].Level != result.Fail || vs[0].Metric != "loss_ratio" {
		t.Errorf("worst verdict %+v, want loss fail", vs[0])
	}
}

// TestReorderStrictOnly: reordering warns in the strict profile only.
func TestReorderStrictOnly(t *testing.T) {
	l := mkLog(250, 30*time.Millisecond, func(int) bool { return false })
	l[100].Reordered = true
	s := Analyze(l, 20*time.Millisecond)
	c, _ := Profile("connect")
	if lvl, r := Worst(c.JudgeStream(s)); lvl != result.Pass {
		t.Errorf("connect: %s %q for one reordered packet", lvl, r)
	}
	st, _ := Profile("strict")
	if lvl, r := Worst(st.JudgeStream(s)); lvl != result.Warn || !strings.Contains(r, "packet reorder < 0.05%") {
		t.Errorf("strict: %s %q", lvl, r)
	}
}
