package quality

import (
	"math"
	"testing"
	"time"
)

// FuzzAnalyze: any packet log (arbitrary send/receive times, losses,
// duplicates) yields finite statistics with ratios in [0, 1] and no panic.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{10, 0, 20, 1, 30, 255}, uint8(20))
	f.Add([]byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, iv uint8) {
		interval := time.Duration(int(iv)+1) * time.Millisecond
		var log []Packet
		for i, x := range b {
			p := Packet{Seq: i, Sent: time.Duration(i) * interval}
			if x%7 != 0 {
				p.Received = true
				p.Recv = p.Sent + time.Duration(x)*time.Millisecond
			}
			p.Dups = int(x % 3 / 2)
			p.Reordered = x%11 == 0
			log = append(log, p)
		}
		s := Analyze(log, interval)
		for name, v := range map[string]float64{"loss": s.LossRatio, "burst": s.BurstLossRatio, "reorder": s.ReorderRatio, "worst window": s.WorstWindowLoss()} {
			if v < 0 || v > 1 || math.IsNaN(v) {
				t.Fatalf("%s ratio %v", name, v)
			}
		}
		if m := s.MOS(); m < 0.9 || m > 4.5 || math.IsNaN(m) {
			t.Fatalf("MOS %v", m)
		}
		if math.IsNaN(s.JitterMS) || math.IsInf(s.BurstR, 0) {
			t.Fatalf("jitter %v burstR %v", s.JitterMS, s.BurstR)
		}
	})
}
