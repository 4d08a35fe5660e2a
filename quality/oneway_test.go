package quality

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestOneWayJitterSymmetric: packets whose round trip is an up leg and a
// down leg, each held 60 ms ± 35 ms (uniform, independent: about the
// figures of the "25 ms one-way jitter each way" path, 23 ms one way and 33 ms round trip). The graded one-way estimate must
// be within 2 ms (or 15 %) of each leg's own RFC 3550 jitter (the mean
// |ΔD| of one direction, what the receiving browser reports), while the
// round-trip figure is √2 times larger and would warn at 30 ms.
func TestOneWayJitterSymmetric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1500
	log := make([]Packet, n)
	up := make([]float64, n)
	down := make([]float64, n)
	for i := range log {
		up[i] = 60 + 70*(rng.Float64()-0.5)
		down[i] = 60 + 70*(rng.Float64()-0.5)
		sent := time.Duration(i) * 20 * time.Millisecond
		log[i] = Packet{Seq: i, Sent: sent, Recv: sent + time.Duration((up[i]+down[i])*float64(time.Millisecond)), Received: true}
	}
	meanAbsDiff := func(d []float64) float64 {
		var s float64
		for i := 1; i < len(d); i++ {
			s += math.Abs(d[i] - d[i-1])
		}
		return s / float64(len(d)-1)
	}
	upJ, downJ := meanAbsDiff(up), meanAbsDiff(down)
	st := Analyze(log, 20*time.Millisecond)
	est := st.OneWayJitterMS()
	for _, leg := range []float64{upJ, downJ} {
		if d := math.Abs(est - leg); d > math.Max(2, 0.15*leg) {
			t.Errorf("one-way estimate %.2f ms, a leg's own jitter %.2f ms (round trip %.2f ms)", est, leg, st.JitterMS)
		}
	}
	t.Logf("legs %.2f / %.2f ms, round trip %.2f ms, one-way estimate %.2f ms", upJ, downJ, st.JitterMS, est)
	th, _ := Profile("connect")
	for _, v := range th.JudgeStream(st) {
		if v.Metric == "jitter_ms" && (v.Level != "pass" || math.Abs(v.Value-st.WorstWindowOneWayJitterMS()) > 1e-9) {
			t.Errorf("jitter graded %v on %.2f ms, want pass on the one-way estimate %.2f ms", v.Level, v.Value, st.WorstWindowOneWayJitterMS())
		}
	}
	if st.JitterMS <= 30 {
		t.Errorf("round-trip jitter %.2f ms: the test path should put it above the 30 ms limit", st.JitterMS)
	}
}

func TestOneWayJitterBadInput(t *testing.T) {
	for _, v := range []float64{-1, 0, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := OneWayJitterMS(v); got != 0 {
			t.Errorf("OneWayJitterMS(%v) = %v, want 0", v, got)
		}
	}
	if got := OneWayJitterMS(math.Sqrt2 * 10); math.Abs(got-10) > 1e-9 {
		t.Errorf("OneWayJitterMS(10√2) = %v", got)
	}
}
