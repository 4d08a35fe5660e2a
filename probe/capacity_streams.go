package probe

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/pion/stun/v4"
)

// capacity.streams (--capacity N): up to N concurrent paced streams, one
// socket each (as N agents' calls), to the first TURN server that
// answers, stepping up the count. It reports the count at which loss or
// jitter breach the profile, or at which the NAT stops giving each socket
// its own working mapping (port exhaustion, shaping). config.MaxCapacity
// (200) caps N, so the check never sends a server more than 200 × 50 =
// 10,000 small packets a second, for a few seconds per step.

// capacitySteps are the stream counts tried, in order, up to N (and N
// itself when it is not a step).
var capacitySteps = []int{1, 2, 5, 10, 20, 50, 100, 150, 200}

const (
	// capacityStepDuration is one step's stream: 3 s is 150 packets per
	// stream, enough to see 1 % loss (1.5 packets) across many streams
	// while keeping a 200-stream run under half a minute.
	capacityStepDuration = 3 * time.Second
	// capacityPickBudget bounds finding a TURN server that answers: one
	// Binding transaction per server, retransmitted every
	// capacityPickRTO.
	capacityPickBudget = 2 * time.Second
	capacityPickRTO    = 250 * time.Millisecond
)

// capacityStepTime is the step length in use: capacityStepDuration,
// shortened by tests.
var capacityStepTime = capacityStepDuration

// stepsUpTo lists the steps for n streams.
func stepsUpTo(n int) []int {
	var s []int
	for _, k := range capacitySteps {
		if k < n {
			s = append(s, k)
		}
	}
	if n > 0 {
		s = append(s, n)
	}
	return s
}

// capacityWait is how long capacity.streams waits before it starts: while
// media.quality measures (it runs in the same check, to the same servers),
// N agents' streams from this site would load the uplink and make the
// single call's measurement look worse than the path is.
func capacityWait(c *config.Config) time.Duration {
	if c.Skipped(mediaQuality.ID) {
		return 0
	}
	return mediaSetupBudget + c.Duration + mediaDrainMax
}

func capacityBudget(c *config.Config) time.Duration {
	steps := len(stepsUpTo(c.Capacity))
	return capacityWait(c) + mediaSetupBudget + capacityPickBudget + time.Duration(steps)*(capacityStepTime+mediaDrainMax+mediaStartLead+100*time.Millisecond)
}

var capacityStreams = Probe{
	Kind:   result.Kind{ID: "capacity.streams", Layer: result.LayerQuality, Perfdata: []string{"rtt_ms", "jitter_ms", "loss_ratio"}, Site: true, DependsOn: []string{"stun.binding"}},
	Budget: capacityBudget,
	Targets: func(c *config.Config) []Target {
		if c.Capacity <= 0 || len(c.TURN) == 0 {
			return nil
		}
		return []Target{{Name: "TURN"}}
	},
	Why: func(c *config.Config) string {
		if c.Capacity <= 0 {
			return "not asked: --capacity N"
		}
		return "no TURN server to test"
	},
	Run: runCapacity,
}

// capacityStep is what one step found.
type capacityStep struct {
	streams      int
	stats        quality.Stats // all streams' packets pooled (loss, RTT)
	worstJitter  float64       // the worst single stream's one-way jitter estimate
	silent       int           // streams that got no reply at all
	sharedMapped int           // streams whose mapped address another stream also got
	remapped     int           // streams whose mapping changed mid-step
	sendErr      error
	verdicts     []quality.Verdict
	level        result.Status
	// lateP99 is how late this computer sent the step's packets against
	// their schedule (p99, ms): above busyLateMS the test computer, not
	// the site, was the bottleneck.
	lateP99 float64
}

func runCapacity(ctx context.Context, env *Env, _ Target) Result {
	cfg := env.Cfg
	n := min(cfg.Capacity, config.MaxCapacity)
	r := Result{Target: "TURN"}
	if w := capacityWait(cfg); w > 0 {
		// Let media.quality finish first; it ends sooner on a blocked
		// path, but the wait is bounded and predictable.
		select {
		case <-time.After(w):
		case <-ctx.Done():
			r.Status, r.Reason = Skip, "cancelled before it started"
			return r
		}
	}
	t, dst, why := pickTURN(ctx, env)
	if dst == nil {
		r.Status, r.Phase = Fail, result.PhaseConnect
		r.Reason = "no TURN server answered, so capacity cannot be measured: " + why
		if len(cfg.TURN) > 0 {
			r.Remedy = RemedyTURN(cfg, cfg.TURN[0])
		}
		return r
	}
	r.Target, r.Address = t.Name, dst.String()
	r.SetMetric("streams_asked", float64(n))

	var socks []*stream
	defer func() {
		for _, s := range socks {
			s.close()
		}
	}()
	start := time.Now()
	var held int
	var breach *capacityStep
	var last capacityStep
	for _, k := range stepsUpTo(n) {
		if ctx.Err() != nil {
			break
		}
		// The agents of earlier steps stay (same sockets, same NAT
		// mappings); new agents join.
		count := int(capacityStepTime / mediaInterval)
		for _, s := range socks {
			s.reset(count)
		}
		for len(socks) < k {
			s, err := newStream(dst, count, mediaInterval)
			if err != nil {
				// Out of local sockets/ports: that is a capacity finding too.
				last = capacityStep{streams: k, sendErr: err, level: result.Fail}
				breach = &last
				break
			}
			socks = append(socks, s)
		}
		if breach != nil {
			break
		}
		streams := socks
		stepStart := time.Since(start).Seconds()
		runStreams(ctx, streams, false)
		last = judgeStep(cfg, streams)
		r.Series = append(r.Series, Sample{T: stepStart, RTTMS: last.stats.RTTMeanMS, JitterMS: last.worstJitter,
			LossRatio: last.stats.LossRatio, Sent: last.stats.Sent, Received: last.stats.Received})
		r.SetDetail(fmt.Sprintf("step_%03d", k), last.summary())
		if ctx.Err() != nil {
			break
		}
		if last.level != result.Pass {
			breach = &last
			break
		}
		held = k
	}
	r.SetMetric("streams_held", float64(held))
	if last.streams > 0 {
		r.SetMetric("loss_ratio", last.stats.LossRatio)
		r.SetMetric("jitter_ms", last.worstJitter)
		r.SetMetric("rtt_ms", last.stats.RTTMeanMS)
		r.SetMetric("mapping_failures", float64(last.silent+last.sharedMapped+last.remapped))
	}
	switch {
	case breach == nil && held == n:
		r.Status = Pass
		r.SetMetric("streams_breach", 0)
		return r
	case breach == nil:
		r.Status, r.Phase = Skip, result.PhaseCapacity
		r.Reason = fmt.Sprintf("stopped before the end (time budget): %d concurrent streams held", held)
		return r
	}
	explainBreach(&r, t, breach, held, n)
	return r
}

// explainBreach fills r's status, phase, reason and remedy for the step
// that breached, after held streams passed, of n asked.
func explainBreach(r *Result, t Target, breach *capacityStep, held, n int) {
	what := fmt.Sprintf("UDP %d to %s", t.Endpoint.Port, t.Endpoint.Host)
	r.SetMetric("streams_breach", float64(breach.streams))
	r.Status, r.Phase = Status(breach.level), result.PhaseCapacity
	// The reason leads with what the site carried: the report's headline
	// quotes it as the site's limit (capacity is a Site kind).
	carried := fmt.Sprintf("this site carried %d concurrent calls cleanly", held)
	if held == 0 {
		carried = "this site did not carry even one call's stream cleanly"
	}
	held0 := fmt.Sprintf("%s of %d asked", carried, n)
	lossOK := true
	for _, v := range breach.verdicts {
		if v.Metric == "loss_ratio" && v.Level != result.Pass {
			lossOK = false
		}
	}
	busy := breach.lateP99 > busyLateMS
	switch {
	case breach.sendErr == nil && breach.silent+breach.sharedMapped+breach.remapped == 0 && busy && lossOK:
		// The packets left late and none were lost: this computer could
		// not keep N calls' cadence, so the jitter says nothing of the
		// site's uplink. (Loss is the network's: a late packet still
		// arrives.)
		r.Status = Warn
		r.SetMetric("send_late_p99_ms", breach.lateP99)
		r.Reason = fmt.Sprintf("%s; at %d concurrent streams this computer was the bottleneck, not the network: its own packets left up to %.1f ms late (p99; under 0.5 ms when it keeps up), so the site's limit above %d calls is not known",
			held0, breach.streams, breach.lateP99, held)
		r.Remedy = "run the capacity test from a computer that is not busy (close other work, or use a dedicated test machine), or split the streams over several computers at the site"
	case breach.sendErr != nil:
		r.Reason = fmt.Sprintf("%s; at %d concurrent streams: %s", held0, breach.streams, Explain(Classify(breach.sendErr), what))
		r.SetDetail("error", breach.sendErr.Error())
		r.Remedy = "raise this computer's limit on open UDP sockets, or run the test from fewer agents' worth of streams"
	case breach.silent+breach.sharedMapped+breach.remapped > 0:
		r.Reason = fmt.Sprintf("%s; at %d concurrent streams the NAT stopped mapping every agent's socket: %s", held0, breach.streams, breach.mappingWords())
		r.Remedy = "the NAT/PAT in front of this site runs out of ports or rate-limits new UDP flows: give it a larger port pool or more public addresses, raise its UDP session limit, and exempt UDP 3478 to the TURN servers from flow shaping"
	default:
		_, why := quality.Worst(breach.verdicts)
		r.Reason = fmt.Sprintf("%s; at %d concurrent streams: %s", held0, breach.streams, why)
		if busy {
			r.Reason += fmt.Sprintf(" (this computer was also busy: its packets left up to %.1f ms late, p99, so bursts of its own may have added to the loss)", breach.lateP99)
		}
		r.Remedy = fmt.Sprintf("this site's uplink or firewall cannot carry %d concurrent calls: check the uplink's bandwidth (AWS asks ≥ 100 kbit/s per agent), traffic shaping or policing of UDP, and prioritise UDP to %s:%d (DSCP EF/46)",
			breach.streams, t.Endpoint.Host, t.Endpoint.Port)
	}
}

// judgeStep pools a step's streams and grades it: loss and RTT over all
// packets, jitter of the worst stream, and every socket's mapping.
func judgeStep(cfg *config.Config, streams []*stream) capacityStep {
	st := capacityStep{streams: len(streams)}
	var all []quality.Packet
	mapped := map[string]int{}
	for _, s := range streams {
		pk := s.packets()
		one := quality.Analyze(pk, mediaInterval)
		st.worstJitter = max(st.worstJitter, one.OneWayJitterMS())
		// Pool with distinct sequence numbers so Analyze sees one long log.
		base := len(all)
		for _, p := range pk {
			p.Seq += base
			all = append(all, p)
		}
		s.mu.Lock()
		if s.sendErr != nil && st.sendErr == nil {
			st.sendErr = s.sendErr
		}
		if one.Received == 0 {
			st.silent++
		} else if s.mapped != "" {
			mapped[s.mapped]++
		}
		if s.remapped {
			st.remapped++
		}
		s.mu.Unlock()
	}
	for _, c := range mapped {
		if c > 1 {
			st.sharedMapped += c
		}
	}
	var late []time.Duration
	for _, s := range streams {
		late = append(late, s.late...)
	}
	st.lateP99 = lateP99(late)
	sort.SliceStable(all, func(a, b int) bool { return all[a].Sent < all[b].Sent })
	st.stats = quality.Analyze(all, mediaInterval)
	st.verdicts = []quality.Verdict{
		cfg.Thresholds.Judge("loss_ratio", st.stats.LossRatio, "packet loss across all streams"),
		cfg.Thresholds.Judge("jitter_ms", st.worstJitter, "jitter of the worst stream"),
		cfg.Thresholds.Judge("rtt_ms", st.stats.RTTMeanMS, "mean round-trip time"),
	}
	st.level, _ = quality.Worst(st.verdicts)
	if st.silent+st.sharedMapped+st.remapped > 0 || st.sendErr != nil {
		st.level = result.Fail
	}
	return st
}

func (s capacityStep) mappingWords() string {
	var w []string
	if s.silent > 0 {
		w = append(w, fmt.Sprintf("%d of %d sockets got no answer at all", s.silent, s.streams))
	}
	if s.sharedMapped > 0 {
		w = append(w, fmt.Sprintf("%d sockets were given a public address and port another socket also had", s.sharedMapped))
	}
	if s.remapped > 0 {
		w = append(w, fmt.Sprintf("%d sockets had their public port changed mid-call", s.remapped))
	}
	return strings.Join(w, "; ")
}

func (s capacityStep) summary() string {
	return fmt.Sprintf("%d streams: loss %s, worst jitter %s, mean RTT %s, no-answer sockets %d, %s",
		s.streams, quality.Format("loss_ratio", s.stats.LossRatio), quality.Format("jitter_ms", s.worstJitter),
		quality.Format("rtt_ms", s.stats.RTTMeanMS), s.silent, s.level)
}

// pickTURN returns the first TURN server (config order) that answers a
// STUN Binding request, or why none did.
func pickTURN(ctx context.Context, env *Env) (Target, *net.UDPAddr, string) {
	ctx, cancel := context.WithTimeout(ctx, capacityPickBudget)
	defer cancel()
	var whys []string
	for _, t := range turnTargets(env.Cfg) {
		ap, res, ok := resolveUDP(ctx, env, t)
		if !ok {
			whys = append(whys, res.Reason)
			continue
		}
		dst := net.UDPAddrFromAddrPort(ap)
		if err := bindOnce(ctx, dst); err != nil {
			whys = append(whys, Explain(Classify(err), fmt.Sprintf("UDP %d to %s", t.Endpoint.Port, t.Endpoint.Host)))
			continue
		}
		return t, dst, ""
	}
	return Target{}, nil, strings.Join(whys, "; ")
}

// bindOnce is one STUN Binding transaction, retransmitted every
// capacityPickRTO until ctx ends: a small transaction of our own, so the
// pick takes one round trip on a healthy path.
func bindOnce(ctx context.Context, dst *net.UDPAddr) error {
	c, err := net.ListenUDP("udp", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	m := stun.MustBuild(stun.BindingRequest, stun.TransactionID)
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 1500)
	for ctx.Err() == nil {
		if _, err := c.WriteToUDP(m.Raw, dst); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(capacityPickRTO))
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				if Classify(err) == KindTimeout {
					break
				}
				return err
			}
			if !from.IP.Equal(dst.IP) || from.Port != dst.Port {
				continue
			}
			var resp stun.Message
			resp.Raw = append(resp.Raw[:0], buf[:n]...)
			if resp.Decode() == nil && resp.TransactionID == m.TransactionID {
				return nil
			}
		}
	}
	return context.DeadlineExceeded
}
