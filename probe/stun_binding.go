package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// stunBinding proves two-way UDP to each TURN server (port 3478) with a
// STUN Binding request, and reports the public (mapped) address and RTT.
var stunBinding = Probe{
	Kind: result.Kind{ID: "stun.binding", Layer: result.LayerMedia, Perfdata: []string{"rtt_ms"}, DependsOn: []string{"dns.resolve"}, Causes: stunCauses,
		Summary: &result.Summary{Label: "UDP 3478", Reach: "TURN servers", Metric: "rtt_ms", MetricLabel: "TURN RTT"}},
	Budget:  udpBudget,
	Targets: turnTargets,
	Run:     runSTUNBinding,
}

// udpBlocked are the phases of a UDP exchange that never completed.
var udpBlocked = []string{result.PhaseResponse, result.PhaseRead, result.PhaseSocket, result.PhaseBinding}

// stunCauses: a local firewall refusing UDP 3478, UDP 3478 blocked to every
// TURN server, and some TURN servers silent while others answer, are one
// root cause each; the checks on the same servers depend on stun.binding
// and are shown under it.
var stunCauses = []result.Cause{
	{Phases: []string{result.PhaseSend}, Rank: 85, Who: result.WhoComputer,
		Title:  "A firewall on this computer blocks UDP 3478 to the TURN servers",
		Remedy: "{remedy}"},
	{Phases: udpBlocked, Scope: result.ScopeAll, Rank: 80,
		Title:  "UDP 3478 is blocked: none of the {n} TURN servers answers, so calls cannot carry audio",
		Remedy: "allow outbound UDP 3478 to Connect's TURN servers ({targets}) or to the AMAZON_CONNECT ranges (`ccp-preflight ranges export --region {region}`), and the replies back to this computer's ephemeral UDP ports on a stateless firewall"},
	{Phases: udpBlocked, Scope: result.ScopeSome, Rank: 40,
		Title:    "{n} TURN servers do not answer on UDP 3478 (the others do)",
		TitleOne: "The TURN server {target} does not answer on UDP 3478 (the others do)",
		Remedy:   "allow outbound UDP 3478 to {targets} as well (or to the AMAZON_CONNECT ranges: `ccp-preflight ranges export --region {region}`): calls that land on it get no audio"},
}

func runSTUNBinding(ctx context.Context, env *Env, t Target) Result {
	var mapped netip.AddrPort
	x, local, r, ok := udpTransaction(ctx, env, t, func(conn *net.UDPConn) (Exchange, error) {
		x, m, err := Binding(ctx, conn, nil, Schedule{})
		mapped = m
		return x, err
	})
	if !ok {
		return r
	}
	if code, reason := x.ErrorCode(); code != 0 {
		r.Status, r.Phase = Fail, result.PhaseResponse
		r.Reason = fmt.Sprintf("%s answered the STUN Binding with error %d %s: two-way UDP works, but this is not behaving like a TURN server", t.Endpoint.Addr(), code, reason)
		r.Remedy = remedyNotTURN(t.Endpoint)
		return r
	}
	if !mapped.IsValid() {
		r.Status, r.Phase = Fail, result.PhaseResponse
		r.Reason = fmt.Sprintf("%s answered the STUN Binding without a mapped address: two-way UDP works, but the answer is malformed", t.Endpoint.Addr())
		r.Remedy = remedyNotTURN(t.Endpoint)
		return r
	}
	r.Status = Pass
	r.SetDetail("mapped_address", mapped.String())
	if la, err := netip.ParseAddrPort(local.String()); err == nil {
		r.SetDetail("local_address", la.String())
	}
	return r
}
