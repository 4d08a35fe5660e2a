package probe

import (
	"context"
	"fmt"
	"math"
	"net"
	"sort"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/quality"
)

// media.quality: a paced Opus-like stream to each TURN server for
// --duration (mediastream.go), graded with the threshold profile and the
// ITU-T G.107 E-model (quality/). No credentials: a TURN server answers
// unauthenticated STUN Binding requests on its listening port.

// mediaBudget is a media.quality run: set-up, the stream, the drain.
func mediaBudget(c *config.Config) time.Duration {
	return mediaSetupBudget + c.Duration + mediaDrainMax
}

var mediaQuality = Probe{
	Kind: result.Kind{ID: "media.quality", Layer: result.LayerQuality, Perfdata: []string{"rtt_ms", "jitter_ms", "loss_ratio", "mos"}, Chart: true,
		DependsOn: []string{"stun.binding"}, Summary: &result.Summary{Metric: "mos", MetricLabel: "Call quality (MOS)"}},
	Budget:  mediaBudget,
	Targets: turnTargets,
	Run:     runMediaQuality,
}

func runMediaQuality(ctx context.Context, env *Env, t Target) Result {
	cfg := env.Cfg
	r := Result{Target: t.Name}
	ap, res, ok := resolveUDP(ctx, env, t)
	if !ok {
		return res
	}
	dst := net.UDPAddrFromAddrPort(ap)
	r.Address = ap.String()
	count := int(cfg.Duration / mediaInterval)
	s, err := newStream(dst, count, mediaInterval)
	if err != nil {
		r.Status, r.Phase = Fail, result.PhaseSocket
		r.Reason = "could not open a UDP socket on this computer" + seeDetails
		rawError(&r, err)
		r.Remedy = "allow this program to use UDP (local security software or sandbox)"
		return r
	}
	defer s.close()
	runStreams(ctx, []*stream{s}, true)
	return gradeStream(cfg, t, s, r)
}

// gradeStream turns a finished stream into the media.quality result.
func gradeStream(cfg *config.Config, t Target, s *stream, r Result) Result {
	what := fmt.Sprintf("UDP %d to %s", t.Endpoint.Port, t.Endpoint.Host)
	pk := s.packets()
	s.mu.Lock()
	sendErr, refused, readErr, mapped, remapped, replyType := s.sendErr, s.refused, s.readErr, s.mapped, s.remapped, s.replyType
	s.mu.Unlock()
	if s.conn.Stamped() {
		r.SetDetail("receive_times", "kernel")
	} else {
		r.SetDetail("receive_times", "read")
	}
	st := quality.Analyze(pk, mediaInterval)
	r.SetMetric("sent_packets", float64(st.Sent))
	r.SetMetric("received_packets", float64(st.Received))
	if st.Received == 0 {
		r.Status, r.Phase = Fail, result.PhaseRead
		err := sendErr
		if err != nil {
			r.Phase = result.PhaseSend
		} else if err = refused; err == nil {
			err = readErr
		}
		k := Classify(err)
		if k == KindNone {
			k = KindTimeout
			r.Phase = result.PhaseRead
		}
		r.Reason = Explain(k, what) + fmt.Sprintf(" (0 of %d paced packets answered)", st.Sent)
		if replyType != "" {
			r.Reason = fmt.Sprintf("%s answered with %s instead of a Binding success, so the stream cannot be measured", t.Endpoint.Host, replyType)
		}
		r.Remedy = RemedyTURN(cfg, t.Endpoint)
		return r
	}
	setStreamMetrics(&r, st)
	if p99 := lateP99(s.late); p99 >= 0 {
		r.SetMetric("send_late_p99_ms", p99)
		if p99 > busyLateMS {
			r.SetDetail("timing", fmt.Sprintf("this computer was busy: packets left up to %.1f ms late (p99), so jitter may be overstated; run again with less load for a cleaner figure", p99))
		}
	}
	if mapped != "" {
		r.SetDetail("mapped_address", mapped)
	}
	r.SetDetail("codec", quality.Opus.Name)
	r.SetDetail("mos_band", quality.BandOfMOS(st.MOS()).Name+" ("+quality.BandOfMOS(st.MOS()).Meaning+", ITU-T G.109)")
	for _, x := range st.Seconds {
		r.Series = append(r.Series, Sample{T: x.T, RTTMS: x.RTTMS, JitterMS: quality.OneWayJitterMS(x.JitterMS), LossRatio: x.LossRatio, Sent: x.Sent, Received: x.Received})
	}
	vs := cfg.Thresholds.JudgeStream(st)
	lvl, reason := quality.Worst(vs)
	r.Status = Status(lvl)
	if sendErr != nil && r.Status != Fail {
		// The stream stopped early on a send error after some replies.
		r.Status, r.Phase = Fail, result.PhaseSend
		r.Reason = Explain(Classify(sendErr), what) + fmt.Sprintf(" after %d packets", st.Sent)
		r.Remedy = RemedyTURN(cfg, t.Endpoint)
		return r
	}
	if remapped {
		r.SetDetail("mapping", "the mapped address changed during the stream (NAT rebinding)")
	}
	if r.Status == Pass {
		return r
	}
	r.Phase = result.PhaseQuality
	r.Reason = reason
	r.Remedy = qualityRemedy(t, vs[0].Metric)
	return r
}

// busyLateMS is the send lateness (p99) above which the result notes that
// the computer was too busy to keep the CCP's cadence: 2 ms is 10 % of a
// packet interval, and a quiet machine stays under 0.5 ms (docs/MEDIA.md).
const busyLateMS = 2.0

// lateP99 is the 99th percentile of send lateness in ms (−1 if none).
func lateP99(late []time.Duration) float64 {
	if len(late) == 0 {
		return -1
	}
	v := append([]time.Duration(nil), late...)
	sort.Slice(v, func(a, b int) bool { return v[a] < v[b] })
	i := min(len(v)-1, int(math.Ceil(0.99*float64(len(v))))-1)
	return float64(v[max(i, 0)]) / 1e6
}

// setStreamMetrics records a stream's figures under their report names.
func setStreamMetrics(r *Result, st quality.Stats) {
	r.SetMetric("rtt_ms", st.RTTMeanMS)
	r.SetMetric("rtt_min_ms", st.RTTMinMS)
	r.SetMetric("rtt_p95_ms", st.RTTP95MS)
	r.SetMetric("rtt_max_ms", st.RTTMaxMS)
	// jitter_ms is one-way (the limits are one-way figures); the
	// round-trip figure it is estimated from is kept as its own metric.
	r.SetMetric("jitter_ms", st.OneWayJitterMS())
	r.SetMetric("jitter_max_window_ms", st.WorstWindowOneWayJitterMS())
	r.SetMetric("jitter_rtt_ms", st.JitterMS)
	r.SetMetric("loss_ratio", st.LossRatio)
	r.SetMetric("loss_max_window_ratio", st.WorstWindowLoss())
	r.SetMetric("burst_loss_ratio", st.BurstLossRatio)
	r.SetMetric("burst_ratio", st.BurstR)
	r.SetMetric("reorder_ratio", st.ReorderRatio)
	r.SetMetric("duplicate_ratio", st.DuplicateRatio)
	r.SetMetric("mouth_to_ear_ms", quality.MouthToEarMS(st.RTTMeanMS, st.OneWayJitterMS(), quality.Opus))
	r.SetMetric("mos", st.MOS())
}

// qualityRemedy is what to change for the worst metric. Media quality is
// not a firewall rule: it is the path's load, its queues and its length.
func qualityRemedy(t Target, metric string) string {
	flow := fmt.Sprintf("UDP to %s:%d", t.Endpoint.Host, t.Endpoint.Port)
	switch metric {
	case "loss_ratio", "burst_loss_ratio":
		return "packets are lost on the way: prioritise " + flow + " in QoS (DSCP EF/46), check the uplink for saturation and Wi-Fi for interference, and keep media out of VPN tunnels"
	case "jitter_ms":
		return "queues on the path vary: prioritise " + flow + " in QoS (DSCP EF/46) so it skips queues behind bulk traffic, and avoid Wi-Fi or a shared uplink during calls"
	case "rtt_ms":
		return "the path is long: send " + flow + " directly to the internet (split-tunnel it out of a VPN, no proxy hairpin), and use the Connect region nearest the agents"
	case "reorder_ratio":
		return "packets arrive out of order: look for load balancing of " + flow + " across links of different delay (per-packet ECMP or bonded links)"
	}
	return "the call would sound poor: prioritise " + flow + " in QoS (DSCP EF/46), keep media out of VPN tunnels, and check the uplink for saturation"
}
