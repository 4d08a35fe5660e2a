package probe

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// stunBinding proves two-way UDP to each TURN server (port 3478) with a
// STUN Binding request, and reports the public (mapped) address and RTT.
var stunBinding = Probe{
	Kind:    result.Kind{ID: "stun.binding", Layer: result.LayerMedia, Perfdata: []string{"rtt_ms"}},
	Budget:  udpBudget,
	Targets: turnTargets,
	Run:     runSTUNBinding,
}

func runSTUNBinding(ctx context.Context, env *Env, t Target) Result {
	addr, r, ok := resolveUDP(ctx, env, t)
	if !ok {
		return r
	}
	conn, err := DialUDP(ctx, addr)
	if err != nil {
		return udpFailure(env.Cfg, t.Endpoint, r, result.PhaseSocket, Classify(err), err)
	}
	defer conn.Close()
	x, mapped, err := Binding(ctx, conn, nil, Schedule{})
	if err != nil {
		return udpInternal(r, err)
	}
	r.SetMetric("sent", float64(x.Sent))
	if !x.OK() {
		return udpExchangeFailure(env.Cfg, t.Endpoint, r, x)
	}
	r.SetMetric("rtt_ms", ms(x.RTT))
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
	if la, err := netip.ParseAddrPort(conn.LocalAddr().String()); err == nil {
		r.SetDetail("local_address", la.String())
	}
	return r
}
