package quality

import "math"

// This file is the ITU-T G.107 (06/2015) E-model, narrowband, with every
// parameter at the recommendation's default value (G.107 Table 1) except
// the delays, the equipment impairment of the codec and the packet loss,
// which come from the measurement. Formula numbers below are G.107's.
//
//	R = Ro − Is − Id − Ie,eff + A                                 (3-1)
//
// With the defaults and no delay or loss R is 93.2 (G.107 §7.7), which is
// MOS 4.41. The narrowband scale is used on purpose: every published VoIP
// threshold (and every peer tool) speaks narrowband MOS, so a wideband
// R would not be comparable with the thresholds it is graded against.

// EModel holds the G.107 transmission parameters. The zero value is not
// useful; start from DefaultEModel and change what is known.
type EModel struct {
	SLR, RLR   float64 // send / receive loudness ratings, dB (8, 2)
	STMR, LSTR float64 // sidetone / listener sidetone masking ratings, dB (15, 18)
	Ds, Dr     float64 // D-values of the telephone, send / receive (3, 3)
	TELR       float64 // talker echo loudness rating, dB (65)
	WEPL       float64 // weighted echo path loss, dB (110)
	Qdu        float64 // quantizing distortion units (1)
	Nc, Nfor   float64 // circuit noise dBm0p (−70), noise floor dBmp (−64)
	Ps, Pr     float64 // room noise at send / receive side, dB(A) (35, 35)
	A          float64 // advantage factor (0: a fixed-line expectation)
}

// DefaultEModel returns G.107 Table 1's default values.
func DefaultEModel() EModel {
	return EModel{SLR: 8, RLR: 2, STMR: 15, LSTR: 18, Ds: 3, Dr: 3, TELR: 65, WEPL: 110,
		Qdu: 1, Nc: -70, Nfor: -64, Ps: 35, Pr: 35, A: 0}
}

// Codec is what the E-model needs to know about a speech codec: its
// equipment impairment factor Ie, its packet-loss robustness factor Bpl,
// and the delay it adds (frame plus look-ahead), each with a source.
type Codec struct {
	Name    string
	Ie, Bpl float64
	// DelayMS is the codec's algorithmic delay: one frame (the
	// packetization interval) plus look-ahead.
	DelayMS float64
	// Source says where Ie, Bpl and DelayMS come from.
	Source string
}

// Opus is the CCP's codec: Opus at 20 ms frames (ptime 20, DTX off,
// docs/MEDIA.md). ITU-T publishes no narrowband Ie or Bpl for Opus (G.113
// Appendix I lists ITU and a few mobile codecs only), so the values are
// stand-ins, chosen to never flatter the path:
//   - Ie = 0: G.113 Appendix I, Table I.1 gives G.711 (64 kbit/s PCM, the
//     narrowband reference) Ie 0; Opus at the rates WebRTC uses (≥ 24
//     kbit/s, wideband or better) scores at or above G.711 in listening
//     tests (Rämö & Toukomaa, "Voice quality characterization of IETF Opus
//     codec", Interspeech 2011), so on the narrowband scale it has no
//     coding impairment.
//   - Bpl = 25.1: G.113 Appendix I, Table I.3, G.711 with packet loss
//     concealment (G.711 Appendix I) under random loss. Opus has its own
//     concealment (RFC 6716 §4.4); in-band FEC, which the CCP does not
//     configure, would only raise robustness.
//   - DelayMS = 26.5: RFC 6716 §2: 20 ms frame plus 6.5 ms look-ahead
//     (the default restricted-low-delay-off algorithmic delay at 20 ms).
var Opus = Codec{Name: "opus/20ms", Ie: 0, Bpl: 25.1, DelayMS: 26.5,
	Source: "Ie 0 and Bpl 25.1: ITU-T G.113 App. I (G.711 with PLC) as a stand-in for Opus; delay 26.5 ms: RFC 6716 §2"}

// G711PLC is G.711 with its Appendix I concealment, G.113 Appendix I.
var G711PLC = Codec{Name: "g711/20ms+plc", Ie: 0, Bpl: 25.1, DelayMS: 20,
	Source: "ITU-T G.113 App. I, Tables I.1 and I.3"}

// G729A is G.729A with VAD, G.113 Appendix I (Ie 11, Bpl 19.0); 20 ms
// packets of two 10 ms frames plus 5 ms look-ahead.
var G729A = Codec{Name: "g729a+vad/20ms", Ie: 11, Bpl: 19.0, DelayMS: 25,
	Source: "ITU-T G.113 App. I, Tables I.1 and I.3"}

// JitterBufferMS is the delay a receiver's adaptive jitter buffer adds
// for a path with the given RFC 3550 jitter: twice the jitter, and never
// less than one 20 ms frame. The 2× rule is the common planning figure
// (a buffer deep enough for ±2 mean deviations); WebRTC's NetEq adapts
// to a similar depth. It is this project's assumption, not G.107's.
func JitterBufferMS(jitterMS float64) float64 {
	return math.Max(minJitterBufferMS, 2*jitterMS)
}

// minJitterBufferMS is the shallowest jitter buffer: one 20 ms frame.
const minJitterBufferMS = 20

// MouthToEarMS is the one-way delay Ta the E-model is fed: half the
// measured round trip (network), plus the jitter buffer, plus the codec's
// frame and look-ahead.
func MouthToEarMS(rttMS, jitterMS float64, c Codec) float64 {
	return rttMS/2 + JitterBufferMS(jitterMS) + c.DelayMS
}

// Call is one measured path to grade.
type Call struct {
	// DelayMS is the mouth-to-ear delay Ta (see MouthToEarMS). With
	// perfect echo control the echo path delay T equals Ta and the
	// round trip Tr is 2·Ta.
	DelayMS float64
	// LossRatio is the packet loss (0–1); G.107's Ppl is it in percent.
	LossRatio float64
	// BurstR is G.107's burst ratio (1 = random loss, > 1 bursty);
	// values below 1 (loss more spread than random) are used as 1.
	BurstR float64
	Codec  Codec
}

// Terms are the E-model's intermediate values, for tests and reports.
type Terms struct {
	No, Ro, Is, Idte, Idle, Idd, Id, IeEff, R, MOS float64
}

func lg(x float64) float64 { return math.Log10(x) }

// Evaluate computes R and MOS for a call with the model's parameters.
func (m EModel) Evaluate(c Call) Terms {
	var t Terms
	ta := math.Max(c.DelayMS, 0)
	T, Tr := ta, 2*ta

	// Basic signal-to-noise ratio Ro, (7-2) to (7-7).
	olr := m.SLR + m.RLR
	nos := m.Ps - m.SLR - m.Ds - 100 + 0.004*sq(m.Ps-olr-m.Ds-14)
	pre := m.Pr + 10*lg(1+math.Pow(10, (10-m.LSTR)/10))
	nor := m.RLR - 121 + pre + 0.008*sq(pre-35)
	nfo := m.Nfor + m.RLR
	t.No = 10 * lg(math.Pow(10, m.Nc/10)+math.Pow(10, nos/10)+math.Pow(10, nor/10)+math.Pow(10, nfo/10))
	t.Ro = 15 - 1.5*(m.SLR+t.No)

	// Simultaneous impairment Is = Iolr + Ist + Iq, (7-8) to (7-18).
	xolr := olr + 0.2*(64+t.No-m.RLR)
	iolr := 20 * (math.Pow(1+math.Pow(xolr/8, 8), 1.0/8) - xolr/8)
	stmro := -10 * lg(math.Pow(10, -m.STMR/10)+math.Exp(-T/4)*math.Pow(10, -m.TELR/10))
	ist := 12*math.Pow(1+math.Pow((stmro-13)/6, 8), 1.0/8) -
		28*math.Pow(1+math.Pow((stmro+1)/19.4, 35), 1.0/35) -
		13*math.Pow(1+math.Pow((stmro-3)/33, 13), 1.0/13) + 29
	q := 37 - 15*lg(m.Qdu)
	g := 1.07 + 0.258*q + 0.0602*q*q
	y := (t.Ro-100)/15 + 46/8.4 - g/9
	z := 46.0/30 - g/40
	iq := 15 * lg(1+math.Pow(10, y)+math.Pow(10, z))
	t.Is = iolr + ist + iq

	// Delay impairment Id = Idte + Idle + Idd, (7-19) to (7-28).
	roe := -1.5 * (t.No - m.RLR)
	terv := m.TELR - 40*lg((1+T/10)/(1+T/150)) + 6*math.Exp(-0.3*T*T)
	if m.STMR < 9 {
		terv += ist / 2
	}
	re := 80 + 2.5*(terv-14)
	t.Idte = ((roe-re)/2 + math.Sqrt(sq(roe-re)/4+100) - 1) * (1 - math.Exp(-T))
	rle := 10.5 * (m.WEPL + 7) * math.Pow(Tr+1, -0.25)
	t.Idle = (t.Ro-rle)/2 + math.Sqrt(sq(t.Ro-rle)/4+169)
	t.Idd = Idd(ta)
	t.Id = t.Idte + t.Idle + t.Idd

	// Effective equipment impairment with loss, (7-29).
	ppl := 100 * math.Min(math.Max(c.LossRatio, 0), 1)
	burst := math.Max(c.BurstR, 1)
	t.IeEff = c.Codec.Ie
	if ppl > 0 {
		t.IeEff += (95 - c.Codec.Ie) * ppl / (ppl/burst + c.Codec.Bpl)
	}

	t.R = t.Ro - t.Is - t.Id - t.IeEff + m.A
	t.MOS = MOSFromR(t.R)
	return t
}

// Idd is G.107's impairment for an absolute one-way delay Ta in ms, with
// the default mT = 100 ms and sT = 1, (7-27) and (7-28): 0 up to 100 ms.
func Idd(taMS float64) float64 {
	if taMS <= 100 {
		return 0
	}
	x := lg(taMS/100) / lg(2)
	return 25 * (math.Pow(1+math.Pow(x, 6), 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
}

// MOSFromR is G.107 Annex B (B-4): the conversational MOS (CQE) for R.
func MOSFromR(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}

// MOS grades a measured path with the default E-model and Opus: RTT and
// RFC 3550 jitter in ms, loss ratio and burst ratio as measured.
func MOS(rttMS, jitterMS, lossRatio, burstR float64) float64 {
	return DefaultEModel().Evaluate(Call{
		DelayMS: MouthToEarMS(rttMS, jitterMS, Opus), LossRatio: lossRatio, BurstR: burstR, Codec: Opus,
	}).MOS
}

func sq(x float64) float64 { return x * x }

// Band is a named quality band of the R scale, G.109 Table 1 (user
// satisfaction). Bands are half-open [MinR, next band's MinR), so every R
// and every MOS falls in exactly one band: no gaps, no overlaps.
type Band struct {
	Name    string
	MinR    float64
	MinMOS  float64 // MOSFromR(MinR)
	Meaning string
}

// Bands lists the bands from best to worst (G.109 Table 1).
var Bands = []Band{
	{"best", 90, MOSFromR(90), "very satisfied"},
	{"high", 80, MOSFromR(80), "satisfied"},
	{"medium", 70, MOSFromR(70), "some users dissatisfied"},
	{"low", 60, MOSFromR(60), "many users dissatisfied"},
	{"poor", 50, MOSFromR(50), "nearly all users dissatisfied"},
	{"not recommended", math.Inf(-1), 1, "not recommended"},
}

// BandOfR returns the band holding R.
func BandOfR(r float64) Band {
	for _, b := range Bands {
		if r >= b.MinR {
			return b
		}
	}
	return Bands[len(Bands)-1]
}

// BandOfMOS returns the band holding a MOS. MOSFromR is increasing for
// R above 6.5, so the MOS bands are the R bands' images, also contiguous.
func BandOfMOS(mos float64) Band {
	for _, b := range Bands {
		if mos >= b.MinMOS {
			return b
		}
	}
	return Bands[len(Bands)-1]
}

// BurstRatio is G.107's BurstR for a loss pattern (true = lost), from the
// two-state Markov model of §7.5: p = P(loss | previous received),
// q = P(received | previous lost), BurstR = 1/(p+q). It is 1 with no loss.
func BurstRatio(lost []bool) float64 {
	var recvThenLoss, recvPrev, lossThenRecv, lossPrev int
	for i := 1; i < len(lost); i++ {
		if lost[i-1] {
			lossPrev++
			if !lost[i] {
				lossThenRecv++
			}
		} else {
			recvPrev++
			if lost[i] {
				recvThenLoss++
			}
		}
	}
	if recvPrev == 0 || lossPrev == 0 {
		return 1
	}
	p := float64(recvThenLoss) / float64(recvPrev)
	q := float64(lossThenRecv) / float64(lossPrev)
	if p+q == 0 {
		return 1
	}
	return 1 / (p + q)
}
