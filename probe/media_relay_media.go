// media.relay's measurements: the set-up times and the selected pair, the
// Opus-sized RTP sent through the relay, what the receiver saw, round
// trips from RTCP reports, and the grade.

package probe

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/pion/rtp"
)

// setupMetrics records set-up times: allocate_ms (first relay candidate),
// ice_ms (both peers ICE-connected), dtls_ms (from ICE to DTLS connected).
func (s *relaySession) setupMetrics(r *Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	a, b := s.side[0], s.side[1]
	if !a.firstRelay.IsZero() && !b.firstRelay.IsZero() {
		r.SetMetric("allocate_ms", ms(laterOf(a.firstRelay, b.firstRelay).Sub(s.t0)))
	}
	if a.iceConnected.IsZero() || b.iceConnected.IsZero() {
		return
	}
	ice := laterOf(a.iceConnected, b.iceConnected)
	r.SetMetric("ice_ms", ms(ice.Sub(s.t0)))
	if a.connected.IsZero() || b.connected.IsZero() {
		return
	}
	r.SetMetric("dtls_ms", ms(laterOf(a.connected, b.connected).Sub(ice)))
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// describePair records the selected candidate pair.
func (s *relaySession) describePair(r *Result) {
	tr := s.sender.Transport()
	if tr == nil {
		return
	}
	p, err := tr.ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil || p.Local == nil || p.Remote == nil {
		return
	}
	r.SetDetail("selected_pair", fmt.Sprintf("%s %s:%d ↔ %s %s:%d (%s)", p.Local.Typ, p.Local.Address, p.Local.Port, p.Remote.Typ, p.Remote.Address, p.Remote.Port, p.Local.Protocol))
	r.SetDetail("local_candidate_type", p.Local.Typ.String())
	r.SetDetail("remote_candidate_type", p.Remote.Typ.String())
}

// sendMedia sends 20 ms RTP packets for d; false when ctx ended first.
func (s *relaySession) sendMedia(ctx context.Context, d time.Duration) bool {
	payload := make([]byte, relayPayloadBytes)
	start := time.Now()
	s.mu.Lock()
	s.rx.start = start
	s.mu.Unlock()
	n := int(d / relayPacketInterval)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; i < n; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * relayPacketInterval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return false
			}
		} else if ctx.Err() != nil {
			return false
		}
		el := time.Since(start)
		p := &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         i == 0,
				PayloadType:    opusPayloadType,
				SequenceNumber: uint16(i), //nolint:gosec // wraps by design
				Timestamp:      uint32(el.Seconds() * opusClockRate),
			},
			Payload: payload,
		}
		if err := s.track.WriteRTP(p); err != nil {
			continue
		}
		sec := int(el / time.Second)
		s.mu.Lock()
		s.sent++
		for len(s.sentPS) <= sec {
			s.sentPS = append(s.sentPS, 0)
		}
		s.sentPS[sec]++
		s.mu.Unlock()
	}
	return true
}

// drain waits one loop round trip (bounded) for packets still in flight.
func (s *relaySession) drain(ctx context.Context) {
	d := relayDrainMin
	if tr := s.sender.Transport(); tr != nil {
		if st, ok := tr.ICETransport().GetSelectedCandidatePairStats(); ok && st.CurrentRoundTripTime > 0 {
			d = max(d, time.Duration(st.CurrentRoundTripTime*float64(time.Second)))
		}
	}
	d = min(d, relayDrainMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// relayRx counts what the receiving peer got.
type relayRx struct {
	start    time.Time // media start, shared with the sender (one process)
	received int
	dups     int
	seen     map[uint32]bool
	last     uint32 // extended sequence number of the last packet
	any      bool
	jitter   float64 // RFC 3550 interarrival jitter, ms
	prevTr   float64
	havePrev bool
	rxPS     []int     // packets received per second of sending
	jitPS    []float64 // jitter at the end of each second
}

// receive records one RTP packet arriving at the receiving peer.
func (s *relaySession) receive(p *rtp.Packet, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := &s.rx
	if x.start.IsZero() {
		return
	}
	if x.seen == nil {
		x.seen = map[uint32]bool{}
	}
	ext := uint32(p.SequenceNumber)
	if x.any {
		ext = x.last + uint32(int32(int16(p.SequenceNumber-uint16(x.last))))
	}
	if x.seen[ext] {
		x.dups++
		return
	}
	x.seen[ext] = true
	inOrder := !x.any || int32(ext-x.last) > 0
	if inOrder {
		x.last = ext
	}
	x.any = true
	x.received++
	sendMS := float64(p.Timestamp) / opusClockRate * 1000
	arrMS := float64(at.Sub(x.start).Microseconds()) / 1000
	transit := arrMS - sendMS
	// Jitter from in-order packets only, as a browser's receiver
	// (libwebrtc) computes it: a reordered packet would count its whole
	// lateness twice.
	if inOrder {
		if x.havePrev {
			d := math.Abs(transit - x.prevTr)
			x.jitter += (d - x.jitter) / 16
		}
		x.prevTr, x.havePrev = transit, true
	}
	sec := int(sendMS / 1000)
	if sec < 0 {
		return
	}
	for len(x.rxPS) <= sec {
		x.rxPS = append(x.rxPS, 0)
		x.jitPS = append(x.jitPS, 0)
	}
	x.rxPS[sec]++
	x.jitPS[sec] = x.jitter
}

// rttFromReport is the round trip from an RTCP report block received at
// now: arrival − LSR − DLSR in 1/65536 s (RFC 3550 §6.4.1).
func rttFromReport(now time.Time, lsr, dlsr uint32) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	v := ntp32(now) - lsr - dlsr
	if int32(v) < 0 {
		return 0, false
	}
	return time.Duration(float64(v) / 65536 * float64(time.Second)), true
}

// ntp32 is the middle 32 bits of the NTP timestamp of t.
func ntp32(t time.Time) uint32 {
	secs := uint64(t.Unix()) + 2208988800 //nolint:gosec
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}

// grade computes the media metrics and judges them.
func (s *relaySession) grade(r Result, cfg *config.Config, u config.TURNURL) Result {
	s.mu.Lock()
	sent, x := s.sent, s.rx
	rtts := append([]rttSample(nil), s.rtts...)
	sentPS := append([]int(nil), s.sentPS...)
	s.mu.Unlock()

	r.SetMetric("packets_sent", float64(sent))
	r.SetMetric("packets_received", float64(x.received))
	if x.dups > 0 {
		r.SetMetric("duplicates", float64(x.dups))
	}
	if sent == 0 {
		r.Status, r.Phase = Fail, result.PhaseMedia
		r.Reason = "no RTP packet could be sent on the connected relay"
		r.Remedy = relayRemedy(cfg, u)
		return r
	}
	loss := 1 - float64(x.received)/float64(sent)
	loss = max(loss, 0)
	r.SetMetric("loss_ratio", roundRatio(loss))
	if x.received == 0 {
		r.Status, r.Phase = Fail, result.PhaseMedia
		r.Reason = "the peers connected through the relay, but no audio packet arrived"
		r.Remedy = remedyRelayPeers
		return r
	}
	// The loop crosses this network twice (up to TURN, down to the other
	// peer): its RFC 3550 jitter is a round-trip figure. jitter_ms is the
	// one-way estimate the limits are written for (quality.OneWayJitterMS).
	r.SetMetric("jitter_loop_ms", roundMS(x.jitter))
	r.SetMetric("jitter_ms", roundMS(quality.OneWayJitterMS(x.jitter)))

	var loop time.Duration
	if len(rtts) > 0 {
		var sum time.Duration
		for _, v := range rtts {
			sum += v.rtt
		}
		loop = sum / time.Duration(len(rtts))
		r.SetDetail("rtt_source", fmt.Sprintf("RTCP receiver reports (%d samples)", len(rtts)))
	} else if tr := s.sender.Transport(); tr != nil {
		if st, ok := tr.ICETransport().GetSelectedCandidatePairStats(); ok && st.CurrentRoundTripTime > 0 {
			loop = time.Duration(st.CurrentRoundTripTime * float64(time.Second))
			r.SetDetail("rtt_source", "ICE connectivity checks")
		}
	}
	if loop > 0 {
		r.SetMetric("loop_rtt_ms", roundMS(float64(loop.Microseconds())/1000))
		// The loop goes up to the TURN server and back twice; a call's
		// round trip to TURN is half of it.
		r.SetMetric("rtt_ms", roundMS(float64(loop.Microseconds())/2000))
	}
	r.Series = relaySeries(sentPS, x, rtts)

	lvl, why := gradeRelay(cfg.Thresholds, r.Metrics)
	r.Status = Status(lvl)
	if r.Status != Pass {
		r.Phase = result.PhaseMedia
		r.Reason = "media through the TURN relay: " + why
		r.Remedy = fmt.Sprintf("improve the path to %s: prefer wired to Wi-Fi, keep UDP 3478 out of VPN tunnels and proxies, give voice priority (QoS/DSCP EF) and check the uplink is not saturated", u.Addr())
	}
	return r
}

func relaySeries(sentPS []int, x relayRx, rtts []rttSample) []Sample {
	var out []Sample
	var rtt float64
	j := 0
	for sec, n := range sentPS {
		var sum time.Duration
		k := 0
		for j < len(rtts) && rtts[j].at < time.Duration(sec+1)*time.Second {
			sum += rtts[j].rtt
			k++
			j++
		}
		if k > 0 {
			rtt = float64((sum / time.Duration(k)).Microseconds()) / 2000
		}
		smp := Sample{T: float64(sec), Sent: n, RTTMS: roundMS(rtt)}
		if sec < len(x.rxPS) {
			smp.Received = x.rxPS[sec]
			smp.JitterMS = roundMS(quality.OneWayJitterMS(x.jitPS[sec]))
		}
		if n > 0 {
			smp.LossRatio = roundRatio(max(0, 1-float64(smp.Received)/float64(n)))
		}
		out = append(out, smp)
	}
	return out
}

// gradeRelay judges the relayed call's rtt_ms, jitter_ms and loss_ratio
// against the profile, each breach naming its threshold and source.
func gradeRelay(th quality.Thresholds, m map[string]float64) (result.Status, string) {
	var vs []quality.Verdict
	for _, k := range []struct{ metric, what string }{
		{"rtt_ms", "round trip"}, {"jitter_ms", "one-way jitter (estimate)"}, {"loss_ratio", "packet loss"},
	} {
		if v, ok := m[k.metric]; ok {
			vs = append(vs, th.Judge(k.metric, v, k.what))
		}
	}
	return quality.Worst(vs)
}

func roundMS(v float64) float64 { return math.Round(v*1000) / 1000 }

func roundRatio(v float64) float64 { return math.Round(v*10000) / 10000 }
