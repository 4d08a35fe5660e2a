package probe

import (
	"context"
	"fmt"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// browser.udp: ICE gathering in the agent's browser with each TURN server
// used as a STUN server (stun:HOST:3478, no credentials). An answer proves
// that the browser itself — under its own policies, extensions and proxy
// — sends and receives UDP 3478 to that server. When it fails, the result
// is read beside stun.binding to the same server: if the tool's own UDP
// got through, the browser is the cause (a policy such as
// WebRtcIPHandling, see browser.policy, or an extension); if not, the
// network is (check --browser).
//
// Findings: a failure with stun.binding failing to the same server (or to
// every server) is a consequence of it, shown under the network's finding;
// one with the tool's own UDP getting through (phase browser) is the root
// cause browserBlocksUDP, for this computer (its browser's policy). Without
// WebRTC in the browser (browser.support failed) it is under that.
var browserUDP = Probe{
	Kind: result.Kind{ID: "browser.udp", Layer: result.LayerBrowser,
		DependsOn: []string{"browser.support", "stun.binding"}, Causes: []result.Cause{browserBlocksUDP}},
	Budget:  browserBudget,
	Targets: turnTargets,
	Why:     func(*config.Config) string { return "no TURN server to test" },
	Asked:   browserAsked,
	Run:     runBrowserUDP,
}

// browserBlocksUDP is the root cause of a browser.udp or browser.relay
// failure in phase browser: the browser, not the network, keeps WebRTC off
// UDP 3478 (the tool's own UDP or call through the same server worked, or
// the browser offers no UDP candidate at all). Both checks declare it, so
// it is one finding (report.FindingsOf).
var browserBlocksUDP = result.Cause{Phases: []string{result.PhaseBrowser}, Rank: 60, Who: result.WhoComputer,
	Title:  "The browser blocks WebRTC over UDP 3478 (a browser policy or an extension): softphone calls in it get no audio",
	Remedy: "have IT remove the browser policy that limits WebRTC UDP for the CCP (chrome://policy or edge://policy: WebRtcIPHandling, WebRtcUdpPortRange), and disable extensions that limit WebRTC; TURN servers concerned: {targets}"}

func runBrowserUDP(ctx context.Context, env *Env, t Target) Result {
	a, r, ok := browserAnswer(ctx, env, t.Name)
	if !ok {
		return r
	}
	i := targetIndex(turnTargets(env.Cfg), t)
	if a.UDP == nil || i < 0 || i >= len(a.UDP.Servers) {
		r.Status, r.Reason = Skip, "the browser's answer says nothing of this TURN server"
		return r
	}
	r = gradeUDP(r, a.UDP.Servers[i])
	if r.Status == Fail {
		r = blameUDP(r, env.Cfg, t, env.Await(ctx, stunBinding.ID))
	}
	return r
}

// targetIndex is t's position among ts (by name), -1 if absent.
func targetIndex(ts []Target, t Target) int {
	for i, x := range ts {
		if x.Name == t.Name {
			return i
		}
	}
	return -1
}

// gradeUDP grades one server's ICE gathering. Chrome drops a reflexive
// candidate equal to a host candidate (no NAT, or loopback), so a server
// that answered may show none: gathering that completed with UDP host
// candidates and no candidate error means the server answered; gathering
// still waiting at the page's limit means no answer.
func gradeUDP(r Result, s browsercheck.Server) Result {
	r.SetDetail("stun_url", s.URL)
	r.SetMetric("host_udp_candidates", float64(s.HostUDP))
	r.SetMetric("gather_ms", s.ElapsedMS)
	var errs []string
	for _, e := range s.Errors {
		errs = append(errs, fmt.Sprintf("%d %s", e.Code, e.Text))
	}
	if len(errs) > 0 {
		r.SetDetail("ice_errors", strings.Join(errs, "; "))
	}
	switch {
	case len(s.Srflx) > 0:
		r.Status = Pass
		r.SetDetail("mapped_address", s.Srflx[0])
		r.Reason = "the browser sent UDP to the server and got its answer (a server-reflexive candidate)"
	case s.HostUDP == 0:
		r.Status, r.Phase = Fail, result.PhaseBrowser
		r.Reason = "the browser gathered no UDP candidate at all: it does not send WebRTC media over UDP (a browser policy such as WebRtcIPHandling=disable_non_proxied_udp, an extension that limits WebRTC, or no network interface)"
		r.Remedy = "in chrome://policy (edge://policy) look for WebRtcIPHandling or WebRtcUdpPortRange and have IT remove the restriction for the CCP; disable WebRTC-limiting extensions"
	case len(errs) > 0:
		r.Status, r.Phase = Fail, result.PhaseResponse
		r.Reason = "the browser's STUN request over UDP got no usable answer (" + errs[0] + ")"
	case s.Complete:
		r.Status = Pass
		r.Reason = "the browser sent UDP to the server and got its answer (the address it saw is this computer's own, so no separate reflexive candidate)"
	default:
		r.Status, r.Phase = Fail, result.PhaseResponse
		r.Reason = fmt.Sprintf("the browser sent STUN requests over UDP and got no answer within %v (the CCP gives up gathering after 8 s: ice_collection_timeout)", browsercheck.UDPGather)
	}
	return r
}

// blameUDP adds to a failed browser.udp what stun.binding found for the
// same server, and so who must act: the browser (its policy, an
// extension, its proxy) when the tool's own UDP got through, the network
// when it did not.
func blameUDP(r Result, cfg *config.Config, t Target, stun []Result) Result {
	var s *Result
	for i := range stun {
		if stun[i].Target == t.Name {
			s = &stun[i]
		}
	}
	switch {
	case s == nil || s.Status == Skip:
		if r.Remedy == "" {
			r.Remedy = RemedyTURN(cfg, t.Endpoint)
		}
		r.Reason += "; the tool's own STUN check (stun.binding) did not run, so the network and the browser cannot be told apart"
	case s.Status == Pass:
		r.Phase = result.PhaseBrowser
		r.Reason += "; the tool's own STUN check to the same server passed (stun.binding), so the network carries UDP 3478: the cause is the browser — a browser policy (see browser.policy, e.g. WebRtcIPHandling), an extension, or the browser's proxy settings"
		r.Remedy = "have IT remove the browser policy that limits WebRTC UDP (chrome://policy or edge://policy: WebRtcIPHandling, WebRtcUdpPortRange), disable WebRTC-limiting extensions, or set the browser to use no proxy for UDP; the network needs no change"
	case r.Metrics["host_udp_candidates"] == 0:
		r.Reason += "; the tool's own STUN check to the same server failed too (stun.binding): the network blocks UDP 3478 as well, so both must change"
		r.Remedy += "; and " + s.Remedy
	default:
		r.Phase = result.PhaseResponse
		r.Reason += "; the tool's own STUN check to the same server failed too (stun.binding), so the cause is the network, not the browser"
		r.Remedy = s.Remedy
		if r.Remedy == "" {
			r.Remedy = RemedyTURN(cfg, t.Endpoint)
		}
	}
	return r
}
