package quality

import (
	"math"
	"testing"
)

// The expected values were computed by hand from G.107 (06/2015)'s
// formulas with Table 1's defaults (worked in a separate script, not this
// code). Intermediates at the defaults:
//
//	Nos = 35−8−3−100+0.004·(35−10−3−14)² = −75.744
//	Pre = 35+10·lg(1+10^−0.8) = 35.639;  Nor = 2−121+35.639+0.008·0.639² = −83.358
//	Nfo = −64+2 = −62
//	No  = 10·lg(10^−7 + 10^−7.5744 + 10^−8.3358 + 10^−6.2) = −61.179
//	Ro  = 15−1.5·(8−61.179) = 94.769
//	Is  = Iolr 0.440 + Ist −0.001 + Iq 0.974 = 1.414
//	R(Ta=0) = 94.769 − 1.414 − Idle 0.149 = 93.206   (G.107 §7.7 says 93.2)
func TestEModelDefaults(t *testing.T) {
	got := DefaultEModel().Evaluate(Call{Codec: G711PLC})
	near(t, "No", got.No, -61.1792, 1e-3)
	near(t, "Ro", got.Ro, 94.7688, 1e-3)
	near(t, "Is", got.Is, 1.4136, 1e-3)
	near(t, "Idle", got.Idle, 0.1490, 1e-3)
	near(t, "Idte", got.Idte, 0, 1e-9)
	near(t, "R", got.R, 93.2062, 1e-3)
	near(t, "MOS", got.MOS, 4.4094, 1e-3)
}

func TestEModelDelay(t *testing.T) {
	cases := []struct {
		ta                    float64
		idte, idle, idd, r, m float64
	}{
		// Ta = 66.5: TERV = 65−40·lg(7.65/1.4433) = 36.03, Re = 135.07,
		// Idte = −20.15+√(406.0+100)−1 = 1.345.
		{66.5, 1.3449, 0.6331, 0, 91.3773, 4.3713},
		// Ta = 150: X = lg 1.5 / lg 2 = 0.585; Idd = 25·((1+X⁶)^⅙ − 3(1+(X/3)⁶)^⅙ + 2) = 0.164.
		{150, 2.8118, 0.8407, 0.1635, 89.5391, 4.3275},
		// Ta = 200: X = 1; Idd = 25·(2^⅙ − 3·(1+3⁻⁶)^⅙ + 2) = 3.044.
		{200, 3.5708, 0.9353, 3.0444, 85.8047, 4.2232},
		{300, 4.8339, 1.0943, 14.7607, 72.6664, 3.7194},
	}
	for _, c := range cases {
		got := DefaultEModel().Evaluate(Call{DelayMS: c.ta, Codec: G711PLC})
		near(t, "Idte", got.Idte, c.idte, 1e-3)
		near(t, "Idle", got.Idle, c.idle, 1e-3)
		near(t, "Idd", got.Idd, c.idd, 1e-3)
		near(t, "R", got.R, c.r, 1e-3)
		near(t, "MOS", got.MOS, c.m, 1e-3)
	}
}

func TestEModelLoss(t *testing.T) {
	// Opus stand-in, Ta = 66.5 (RTT/2 20, buffer 20, codec 26.5), 2 % random:
	// Ie,eff = 0 + 95·2/(2/1 + 25.1) = 7.011.
	ta := MouthToEarMS(40, 5, Opus)
	near(t, "Ta", ta, 66.5, 1e-9)
	got := DefaultEModel().Evaluate(Call{DelayMS: ta, LossRatio: 0.02, BurstR: 1, Codec: Opus})
	near(t, "Ie,eff", got.IeEff, 7.0111, 1e-3)
	near(t, "R", got.R, 84.3662, 1e-3)
	near(t, "MOS", got.MOS, 4.1778, 1e-3)
	near(t, "MOS()", MOS(40, 5, 0.02, 1), 4.1778, 1e-3)

	// G.729A+VAD, Ta = 180, 1 % bursty (BurstR 2):
	// Ie,eff = 11 + 84·1/(1/2 + 19) = 15.308.
	got = DefaultEModel().Evaluate(Call{DelayMS: 180, LossRatio: 0.01, BurstR: 2, Codec: G729A})
	near(t, "Ie,eff", got.IeEff, 15.3077, 1e-3)
	near(t, "R", got.R, 72.5243, 1e-3)
	near(t, "MOS", got.MOS, 3.7130, 1e-3)

	// Burstier loss at the same rate must grade lower.
	if a, b := MOS(40, 5, 0.02, 1), MOS(40, 5, 0.02, 3); b >= a {
		t.Errorf("bursty loss MOS %.3f not below random loss MOS %.3f", b, a)
	}
	// Measured delay matters (OpenTok's fixed 150 ms does not).
	if a, b := MOS(20, 2, 0, 1), MOS(400, 2, 0, 1); b >= a-0.3 {
		t.Errorf("400 ms RTT MOS %.3f not clearly below 20 ms RTT MOS %.3f", b, a)
	}
}

func TestMOSFromR(t *testing.T) {
	// (B-4): 1 + 0.035R + R(R−60)(100−R)·7e−6.
	near(t, "R70", MOSFromR(70), 1+2.45+70*10*30*7e-6, 1e-12) // 3.597
	near(t, "R80", MOSFromR(80), 1+2.8+80*20*20*7e-6, 1e-12)  // 4.024
	near(t, "R-5", MOSFromR(-5), 1, 0)
	near(t, "R120", MOSFromR(120), 4.5, 0)
}

func TestIdd(t *testing.T) {
	near(t, "Idd(100)", Idd(100), 0, 0)
	near(t, "Idd(400)", Idd(400), 25*(math.Pow(1+64, 1.0/6)-3*math.Pow(1+math.Pow(2.0/3, 6), 1.0/6)+2), 1e-9)
}

// TestBandsContiguous: every R and every MOS falls in exactly one band,
// and the MOS band agrees with the R band (Twilio's bands have gaps).
func TestBandsContiguous(t *testing.T) {
	for r := -10.0; r <= 110; r += 0.01 {
		b := BandOfR(r)
		n := 0
		for i, x := range Bands {
			upper := math.Inf(1)
			if i > 0 {
				upper = Bands[i-1].MinR
			}
			if r >= x.MinR && r < upper {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("R %.2f is in %d bands", r, n)
		}
		if r >= 10 {
			if m := BandOfMOS(MOSFromR(r)); m.Name != b.Name {
				t.Fatalf("R %.2f in band %q but its MOS %.4f in %q", r, b.Name, MOSFromR(r), m.Name)
			}
		}
	}
	if b := BandOfMOS(4.05); b.Name != "high" {
		t.Errorf("MOS 4.05 in band %q, want high", b.Name)
	}
}

func TestBurstRatio(t *testing.T) {
	// Every 50th lost (deterministic): p = 20/980, q = 19/19 → 0.980 (the
	// E-model uses it as 1: spread-out loss is no better than random).
	var every []bool
	for i := 0; i < 1000; i++ {
		every = append(every, i%50 == 49)
	}
	near(t, "deterministic", BurstRatio(every), 0.9800, 1e-3)
	// Bursts of 4 every 100 (the series ends inside a burst).
	var burst []bool
	for i := 0; i < 1000; i++ {
		burst = append(burst, i%100 >= 96)
	}
	got := BurstRatio(burst)
	// Transitions: recv→loss 10 times out of 960 received predecessors;
	// loss→recv 9 times out of 39 lost predecessors (the series ends lost).
	want := 1 / (10.0/960 + 9.0/39)
	near(t, "bursts of 4", got, want, 1e-9)
	near(t, "none", BurstRatio(make([]bool, 100)), 1, 0)
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f ± %g", name, got, want, tol)
	}
}
