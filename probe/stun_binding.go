package probe

import (
	"context"
	"fmt"
	"github.com/ccp-preflight/ccp-preflight/result"
	"net/netip"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
)

// udpProbeBudget is the time a UDP STUN probe (stun.binding,
// turn.auth-challenge, path.large-datagram, nat.mapping) may take for one
// target. Why 2.5 s: with every TURN server blackholed the verdict must
// come within 3.5 s (issue 3; netcheck takes 5 s, pion's retries ~8 s, the
// CCP's own ICE gathering 8 s); 2.5 s plus the runner's 0.5 s grace leaves
// half a second for DNS and start-up. It holds 4 transmissions on the
// default schedule (0, 0.25, 0.75, 1.75 s), so up to 3 lost datagrams on a
// healthy path still give an answer, and replies as slow as 750 ms count.
const udpProbeBudget = 2500 * time.Millisecond

// udpBudget is a UDP probe's budget: udpProbeBudget, or --timeout when
// that is shorter.
func udpBudget(c *config.Config) time.Duration {
	if c != nil && c.Timeout > 0 && c.Timeout < udpProbeBudget {
		return c.Timeout
	}
	return udpProbeBudget
}

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
		return udpFailure(env.Cfg, t.Endpoint, r, "socket", Classify(err), err)
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
	r.SetMetric("rtt_ms", udpMillis(x.RTT))
	if code, reason := x.ErrorCode(); code != 0 {
		r.Status, r.Phase = Fail, "response"
		r.Reason = fmt.Sprintf("%s answered the STUN Binding with error %d %s: two-way UDP works, but this is not behaving like a TURN server", t.Endpoint.Addr(), code, reason)
		r.Remedy = remedyNotTURN(t.Endpoint)
		return r
	}
	if !mapped.IsValid() {
		r.Status, r.Phase = Fail, "response"
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

// resolveUDP resolves t's host with the shared resolver and returns the
// address to send to (IPv4 first: Connect's TURN servers are IPv4) and a
// Result carrying the target and address. When resolving fails, ok is
// false and the Result is a skip with phase "resolve": dns.resolve reports
// the failure itself, so it is not counted twice.
func resolveUDP(ctx context.Context, env *Env, t Target) (netip.AddrPort, Result, bool) {
	r := Result{Target: t.Name}
	e := t.Endpoint
	ans := env.DNS.Lookup(ctx, e.Host)
	if ans.Err != nil || len(ans.Addrs) == 0 {
		r.Status, r.Phase = Skip, "resolve"
		r.Reason = fmt.Sprintf("%s did not resolve, so UDP %d could not be tested (see dns.resolve)", e.Host, e.Port)
		return netip.AddrPort{}, r, false
	}
	a := udpPickAddr(ans.Addrs)
	ap := netip.AddrPortFrom(a, uint16(e.Port))
	r.Address = ap.String()
	return ap, r, true
}

// udpPickAddr prefers the first IPv4 address.
func udpPickAddr(as []netip.Addr) netip.Addr {
	for _, a := range as {
		if a.Unmap().Is4() {
			return a.Unmap()
		}
	}
	return as[0]
}

// udpExchangeFailure turns a failed STUN transaction into a fail Result
// naming the phase: "send" when the datagram could not leave this
// computer, "response" when nothing (or junk) came back.
func udpExchangeFailure(cfg *config.Config, e catalog.Endpoint, r Result, x Exchange) Result {
	phase := "response"
	if x.Sent == 0 || x.Kind == KindPermission {
		phase = "send"
	}
	return udpFailure(cfg, e, r, phase, x.Kind, x.Err)
}

// udpFailure fills r as a failure of kind k at phase, with the reason and
// remedy for UDP to e.
func udpFailure(cfg *config.Config, e catalog.Endpoint, r Result, phase string, k Kind, err error) Result {
	what := fmt.Sprintf("UDP %d to %s", e.Port, e.Addr())
	r.Status, r.Phase = Fail, phase
	switch k {
	case KindNotSTUN:
		r.Reason = fmt.Sprintf("something answered %s, but not with STUN: another service, a UDP proxy or a DNS hijack is in the way", what)
		r.Remedy = remedyNotTURN(e)
	case KindPermission:
		r.Reason = Explain(k, what)
		r.Remedy = "in this computer's own firewall (Windows Defender Firewall, endpoint security, nftables/iptables output rules): " + RemedyTURN(cfg, e)
	case KindRefused:
		r.Reason = Explain(k, what) + " (ICMP port unreachable)"
		r.Remedy = RemedyTURN(cfg, e) + "; if that rule exists, check that the address is a Connect TURN server (ranges.membership)"
	case KindCancelled:
		r.Status, r.Reason = Skip, Explain(k, what)
	case KindOther:
		r.Reason = fmt.Sprintf("%s failed: %v", what, err)
		r.Remedy = RemedyTURN(cfg, e)
	default:
		r.Reason = Explain(k, what)
		r.Remedy = RemedyTURN(cfg, e)
	}
	if e.Unconfirmed && r.Status == Fail {
		r.Reason += " (this TURN name was reported by a third party, not published by AWS)"
	}
	return r
}

// remedyNotTURN is the remedy when the port answers, but not as TURN.
func remedyNotTURN(e catalog.Endpoint) string {
	return fmt.Sprintf("check that %s resolves to a Connect TURN server (ranges.membership) and that no UDP proxy, SIP ALG or inspection rule answers for or rewrites UDP %d", e.Host, e.Port)
}

// udpInternal is a probe bug (a request that does not build).
func udpInternal(r Result, err error) Result {
	r.Status, r.Phase, r.Reason = Fail, "internal", fmt.Sprintf("internal error: %v (a bug: please report it)", err)
	return r
}

// udpMillis converts a duration to milliseconds with microsecond precision.
func udpMillis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
