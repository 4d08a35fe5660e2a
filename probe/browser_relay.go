package probe

import (
	"context"
	"fmt"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// browser.relay: with the credentials of --ice-servers (handed to the page
// only over the tokenized loopback connection), two relay-only
// RTCPeerConnections in the agent's browser call each other through the
// TURN server, send Opus (the browser's own, 20 ms packets) for --duration,
// and getStats() gives RTT, jitter, loss and concealment — graded with the
// same thresholds as the tool's own call (media.relay), whose figures are
// shown beside them (check --browser).
//
// Findings: a failure the network explains — stun.binding, turn.allocate
// or the tool's own call (media.relay) failing to the same server — is
// shown under that check's finding; one where the tool's own call worked
// (phase browser) is browserBlocksUDP, shared with browser.udp.
var browserRelay = Probe{
	Kind: result.Kind{ID: "browser.relay", Layer: result.LayerBrowser, Perfdata: []string{"rtt_ms", "jitter_ms", "loss_ratio"},
		DependsOn: []string{"browser.support", "stun.binding", "turn.allocate", "media.relay"}, Causes: []result.Cause{browserBlocksUDP}},
	Budget:  browserBudget,
	Targets: relayTargets,
	Why:     func(*config.Config) string { return relayWhy },
	Asked:   browserAsked,
	Run:     runBrowserRelay,
}

func runBrowserRelay(ctx context.Context, env *Env, t Target) Result {
	a, r, ok := browserAnswer(ctx, env, t.Name)
	if !ok {
		return r
	}
	i := targetIndex(relayTargets(env.Cfg), t)
	if i < 0 || i >= len(a.Relay) {
		r.Status, r.Reason = Skip, "the browser's answer has no call through this TURN server"
		if a.Partial {
			r.Reason += " (the page ran out of time before the call)"
		}
		return r
	}
	r = gradeCall(r, a.Relay[i], env.Cfg.Thresholds)
	var tool *Result
	for _, m := range env.Await(ctx, mediaRelay.ID) {
		if m.Target == t.Name {
			tool = &m
		}
	}
	r = besideTool(r, tool)
	if r.Status == Fail && r.Phase != result.PhaseQuality {
		r = blameNetworkWhenUDPBlocked(r, t, env.Await(ctx, stunBinding.ID))
	}
	return r
}

// blameNetworkWhenUDPBlocked corrects the blame of a failed browser call when the tool's
// own STUN over UDP 3478 to the call's TURN server failed (stun.binding):
// then the network drops the UDP the CCP's calls use, whatever the tool's
// own call managed over another transport (TURN over TLS, which the CCP
// does not use). The TURN server is the first UDP URL's host:port among
// the stun.binding targets, else all of them.
func blameNetworkWhenUDPBlocked(r Result, t Target, stun []Result) Result {
	want := ""
	if t.ICE != nil {
		for _, raw := range t.ICE.URLs {
			if u, err := config.ParseTURNURL(raw); err == nil && !u.Secure && u.Transport == "udp" {
				want = u.Addr()
				break
			}
		}
	}
	var s *Result
	for i := range stun {
		if stun[i].Target == want {
			s = &stun[i]
		}
	}
	if s == nil && len(stun) > 0 {
		// The call's server is not a stun.binding target: UDP counts as
		// blocked only when every TURN server's failed.
		all := true
		for _, x := range stun {
			all = all && x.Status == Fail
		}
		if all {
			s = &stun[0]
		}
	}
	if s == nil || s.Status != Fail {
		return r
	}
	if cut := strings.Index(r.Reason, "; the tool's own call"); cut >= 0 {
		r.Reason = r.Reason[:cut]
	}
	r.Phase = result.PhaseAllocate
	r.Reason += fmt.Sprintf("; the tool's own STUN check over UDP 3478 to %s failed too (stun.binding), so the cause is the network, not the browser: it drops the UDP the CCP's calls use", s.Target)
	if tool, ok := r.Metrics["tool_rtt_ms"]; ok && tool >= 0 {
		r.Reason += " (the tool's own call, media.relay, connected only over another transport such as TURN over TLS, which the CCP does not use)"
	}
	if s.Remedy != "" {
		r.Remedy = s.Remedy
	}
	return r
}

// gradeCall grades one browser call.
func gradeCall(r Result, c browsercheck.Call, th quality.Thresholds) Result {
	r.SetDetail("outcome", c.Outcome)
	if c.Source != "" {
		r.SetDetail("audio_source", c.Source)
	}
	if c.Codec != "" {
		r.SetDetail("codec", c.Codec)
	}
	r.SetMetric("setup_ms", c.SetupMS)
	var errs []string
	for _, e := range c.ICEErrors {
		errs = append(errs, fmt.Sprintf("%d %s (%s)", e.Code, e.Text, e.URL))
	}
	turnErrs := ""
	if len(errs) > 0 {
		r.SetDetail("ice_errors", strings.Join(errs, "; "))
		turnErrs = " (TURN: " + errs[0] + ")"
	}
	r.Status = Fail
	switch c.Outcome {
	case browsercheck.CallConnected:
	case browsercheck.CallICEFailed:
		r.Phase = result.PhaseICE
		if c.RelayCandidatesA == 0 {
			r.Phase = result.PhaseAllocate
			r.Reason = "the browser got no relay candidate from the TURN server: no allocation" + turnErrs
		} else {
			r.Reason = "the browser's two relay-only peers did not connect through the TURN server (ICE)" + turnErrs
		}
		r.Remedy = "allow outbound UDP 3478 to the TURN servers for the browser, with the answers back (see browser.udp)"
		return r
	case browsercheck.CallDTLSFailed:
		r.Phase = result.PhaseDTLS
		r.Reason = "ICE connected through the relay, but the DTLS handshake did not finish: large UDP datagrams (~1200 bytes) are dropped on the way (see path.large-datagram)"
		r.Remedy = "let UDP datagrams up to 1300 bytes pass to and from the TURN servers (no fragment filtering, MTU ≥ 1300 on VPN tunnels)"
		return r
	case browsercheck.CallNoMedia:
		r.Phase = result.PhaseMedia
		r.Reason = fmt.Sprintf("the call connected through the relay but no audio arrived (%.0f packets sent, none received)", c.PacketsSent)
		r.Remedy = "allow UDP 3478 both ways for the whole call, not only its start (stateful firewalls: keep UDP flows open at least 30 s idle)"
		return r
	default:
		r.Phase = result.PhaseSetup
		r.Reason = "the browser could not set up the test call: " + c.Error
		r.Remedy = remedyBrowser
		return r
	}
	rtt := c.RTTMS
	if rtt < 0 {
		rtt = c.PairRTTMS
	}
	jitter := max(c.JitterMS, 0)
	loss := 0.0
	if n := c.PacketsReceived + c.PacketsLost; n > 0 {
		loss = c.PacketsLost / n
	}
	r.SetMetric("packets_sent", c.PacketsSent)
	r.SetMetric("packets_received", c.PacketsReceived)
	if c.DurationMS > 0 {
		r.SetMetric("packets_per_s", c.PacketsInWindow/(c.DurationMS/1000))
	}
	if c.TotalSamples > 0 {
		r.SetMetric("concealment_ratio", c.ConcealedSamples/c.TotalSamples)
	}
	vs := []quality.Verdict{
		th.Judge("loss_ratio", loss, "packet loss in the browser's call"),
		th.Judge("jitter_ms", jitter, "jitter in the browser's call"),
	}
	r.SetMetric("loss_ratio", loss)
	r.SetMetric("jitter_ms", jitter)
	if rtt >= 0 {
		mos := quality.MOS(rtt, jitter, loss, 1)
		r.SetMetric("rtt_ms", rtt)
		r.SetMetric("mos", mos)
		vs = append(vs, th.Judge("rtt_ms", rtt, "round-trip time of the browser's call"),
			th.Judge("mos", mos, "estimated MOS of the browser's call (ITU-T G.107 E-model, Opus)"))
	}
	r.Status, r.Reason = quality.Worst(vs)
	r.Phase = ""
	if r.Status != Pass {
		r.Phase = result.PhaseQuality
		r.Remedy = "the browser's call crosses the same path as the tool's (media.relay): fix the path's loss, delay or jitter (Wi-Fi, VPN, a congested uplink), or move the browser off a virtual desktop"
	}
	figures := fmt.Sprintf("browser call: RTT %s, jitter %s, loss %s", fmtMetric(r, "rtt_ms"), fmtMetric(r, "jitter_ms"), fmtMetric(r, "loss_ratio"))
	if r.Reason == "" {
		r.Reason = figures
	} else {
		r.Reason = figures + "; " + r.Reason
	}
	return r
}

// fmtMetric formats r's metric, "not reported" when absent.
func fmtMetric(r Result, name string) string {
	v, ok := r.Metrics[name]
	if !ok {
		return "not reported"
	}
	return quality.Format(name, v)
}

// besideTool puts the tool's own call through the same TURN server
// (media.relay) beside the browser's: its figures as tool_* metrics and in
// the reason, and, when the browser's call failed, who is to blame.
func besideTool(r Result, tool *Result) Result {
	if tool == nil || tool.Status == Skip {
		return r
	}
	for _, m := range []string{"rtt_ms", "jitter_ms", "loss_ratio"} {
		if v, ok := tool.Metrics[m]; ok {
			r.SetMetric("tool_"+m, v)
		}
	}
	if r.Status == Pass || r.Phase == result.PhaseQuality {
		if _, ok := tool.Metrics["rtt_ms"]; ok {
			r.Reason += fmt.Sprintf(" (the tool's own call, media.relay: RTT %s, jitter %s, loss %s)",
				fmtMetric(*tool, "rtt_ms"), fmtMetric(*tool, "jitter_ms"), fmtMetric(*tool, "loss_ratio"))
		}
		return r
	}
	if tool.Status == Pass || tool.Status == Warn {
		r.Phase = result.PhaseBrowser
		r.Reason += "; the tool's own call through the same server connected (media.relay), so the network carries it: the cause is the browser (a policy such as WebRtcIPHandling, an extension, or its proxy)"
		r.Remedy = "have IT remove the browser policy that limits WebRTC UDP (chrome://policy or edge://policy: WebRtcIPHandling), or disable WebRTC-limiting extensions; the network needs no change"
		return r
	}
	r.Reason += "; the tool's own call through the same server failed too (media.relay), so the cause is the network, not the browser"
	if tool.Remedy != "" {
		r.Remedy = tool.Remedy
	}
	return r
}
