package quality

import (
	"math"
	"sort"
	"time"
)

// Packet is one probe of a paced stream as the prober logged it: when it
// was sent and when its first reply arrived, both on the monotonic clock
// as offsets from the stream's start.
type Packet struct {
	Seq      int
	Sent     time.Duration
	Recv     time.Duration // first reply; meaningless unless Received
	Received bool
	// Dups counts replies after the first.
	Dups int
	// Reordered is set when the first reply arrived after the first reply
	// to a later-sent packet.
	Reordered bool
}

// RTT is the packet's round-trip time (only meaningful when Received).
func (p Packet) RTT() time.Duration { return p.Recv - p.Sent }

// WindowSeconds is the judging window for loss and jitter: Microsoft
// publishes its client-to-edge targets "in any 15 s" (docs/MEDIA.md).
const WindowSeconds = 15

// BurstWindow is the span of the burst-loss measure: Microsoft's "burst
// loss < 10 % in any 200 ms" (docs/MEDIA.md).
const BurstWindow = 200 * time.Millisecond

// Window is one judging window of a stream.
type Window struct {
	StartS    float64
	Sent      int
	Lost      int
	LossRatio float64
	JitterMS  float64
}

// Second is one second of a stream, for charts.
type Second struct {
	T         float64
	RTTMS     float64
	JitterMS  float64
	LossRatio float64
	Sent      int
	Received  int
}

// Stats summarises a stream.
type Stats struct {
	Sent, Received int
	LossRatio      float64
	// BurstR is G.107's burst ratio of the loss pattern (1 = random).
	BurstR float64
	// BurstLossRatio is the loss in the worst BurstWindow of consecutive packets.
	BurstLossRatio float64
	// RTT figures in ms over the received packets.
	RTTMeanMS, RTTMinMS, RTTP95MS, RTTMaxMS float64
	// JitterMS is RFC 3550 §6.4.1 interarrival jitter over the round-trip
	// transit: the mean of |D(i−1,i)| = |(Ri−Ri−1) − (Si−Si−1)| over
	// consecutive packets both answered. RFC 3550's running J estimates
	// the same mean through a 1/16 smoothing that leaves it noisy.
	JitterMS                     float64
	ReorderRatio, DuplicateRatio float64
	// Windows are the WindowSeconds judging windows; a trailing partial
	// window counts when it holds at least a third of a window (or is the
	// only one).
	Windows []Window
	// WorstLossWindow and WorstJitterWindow index Windows (−1 when empty).
	WorstLossWindow, WorstJitterWindow int
	Seconds                            []Second
}

// Analyze summarises a packet log sent every interval. Packets must be in
// Seq order (index = Seq).
func Analyze(log []Packet, interval time.Duration) Stats {
	s := Stats{Sent: len(log), BurstR: 1, WorstLossWindow: -1, WorstJitterWindow: -1}
	if len(log) == 0 {
		return s
	}
	var rtts []float64
	lost := make([]bool, len(log))
	var dups, reord int
	for i, p := range log {
		lost[i] = !p.Received
		if !p.Received {
			continue
		}
		s.Received++
		rtts = append(rtts, ms(p.RTT()))
		dups += p.Dups
		if p.Reordered {
			reord++
		}
	}
	s.LossRatio = float64(s.Sent-s.Received) / float64(s.Sent)
	s.BurstR = BurstRatio(lost)
	if s.Received > 0 {
		sort.Float64s(rtts)
		var sum float64
		for _, r := range rtts {
			sum += r
		}
		s.RTTMeanMS = sum / float64(len(rtts))
		s.RTTMinMS, s.RTTMaxMS = rtts[0], rtts[len(rtts)-1]
		s.RTTP95MS = percentile(rtts, 0.95)
		s.ReorderRatio = float64(reord) / float64(s.Received)
		s.DuplicateRatio = float64(dups) / float64(s.Received)
	}

	// Burst loss: worst run of n consecutive packets.
	n := int(math.Round(float64(BurstWindow) / float64(interval)))
	if n < 1 {
		n = 1
	}
	if n > len(log) {
		n = len(log)
	}
	cnt := 0
	for i := range log {
		if lost[i] {
			cnt++
		}
		if i >= n && lost[i-n] {
			cnt--
		}
		if i >= n-1 {
			s.BurstLossRatio = math.Max(s.BurstLossRatio, float64(cnt)/float64(n))
		}
	}

	// Jitter, overall, per window and per second.
	type acc struct {
		sent, recv   int
		dsum         float64
		dn           int
		rttSum       float64
		start        float64
		lastSentSecs float64
	}
	win := map[int]*acc{}
	sec := map[int]*acc{}
	get := func(m map[int]*acc, k int, start float64) *acc {
		a, ok := m[k]
		if !ok {
			a = &acc{start: start}
			m[k] = a
		}
		return a
	}
	var dsum float64
	var dn int
	for i, p := range log {
		ts := p.Sent.Seconds()
		wk, sk := int(ts/WindowSeconds), int(ts)
		w, c := get(win, wk, float64(wk*WindowSeconds)), get(sec, sk, float64(sk))
		w.sent++
		c.sent++
		w.lastSentSecs = ts
		if !p.Received {
			continue
		}
		w.recv++
		c.recv++
		c.rttSum += ms(p.RTT())
		if i > 0 && log[i-1].Received {
			d := math.Abs(ms((p.Recv - log[i-1].Recv) - (p.Sent - log[i-1].Sent)))
			dsum += d
			dn++
			w.dsum += d
			w.dn++
			c.dsum += d
			c.dn++
		}
	}
	if dn > 0 {
		s.JitterMS = dsum / float64(dn)
	}
	mean := func(sum float64, n int) float64 {
		if n == 0 {
			return 0
		}
		return sum / float64(n)
	}
	for k := 0; k <= int(log[len(log)-1].Sent.Seconds()/WindowSeconds); k++ {
		a, ok := win[k]
		if !ok {
			continue
		}
		span := a.lastSentSecs - a.start + interval.Seconds()
		if k > 0 && span < WindowSeconds/3.0 {
			continue
		}
		w := Window{StartS: a.start, Sent: a.sent, Lost: a.sent - a.recv,
			LossRatio: float64(a.sent-a.recv) / float64(a.sent), JitterMS: mean(a.dsum, a.dn)}
		s.Windows = append(s.Windows, w)
		i := len(s.Windows) - 1
		if s.WorstLossWindow < 0 || w.LossRatio > s.Windows[s.WorstLossWindow].LossRatio {
			s.WorstLossWindow = i
		}
		if s.WorstJitterWindow < 0 || w.JitterMS > s.Windows[s.WorstJitterWindow].JitterMS {
			s.WorstJitterWindow = i
		}
	}
	for k := 0; k <= int(log[len(log)-1].Sent.Seconds()); k++ {
		a, ok := sec[k]
		if !ok {
			continue
		}
		s.Seconds = append(s.Seconds, Second{T: a.start, RTTMS: mean(a.rttSum, a.recv), JitterMS: mean(a.dsum, a.dn),
			LossRatio: float64(a.sent-a.recv) / float64(a.sent), Sent: a.sent, Received: a.recv})
	}
	return s
}

// WorstWindowLoss is the loss ratio of the worst judging window (the
// overall loss when there is no window).
func (s Stats) WorstWindowLoss() float64 {
	if s.WorstLossWindow < 0 {
		return s.LossRatio
	}
	return s.Windows[s.WorstLossWindow].LossRatio
}

// WorstWindowJitter is the jitter of the worst judging window.
func (s Stats) WorstWindowJitter() float64 {
	if s.WorstJitterWindow < 0 {
		return s.JitterMS
	}
	return s.Windows[s.WorstJitterWindow].JitterMS
}

// MOS is the E-model MOS of the stream (Opus; mean RTT, the one-way jitter
// estimate that sizes a receiver's jitter buffer, loss and burstiness as
// measured).
func (s Stats) MOS() float64 { return MOS(s.RTTMeanMS, s.OneWayJitterMS(), s.LossRatio, s.BurstR) }

// percentile of sorted values, nearest-rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
