// Helpers the UDP checks share (stun.binding, turn.auth-challenge,
// turn.allocate, path.large-datagram, nat.mapping, media.quality,
// capacity.streams): resolving the target, and the failure a STUN
// exchange or a UDP socket reports.

package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// resolveUDP resolves t's host with the shared resolver and returns the
// address to send to (IPv4 first: Connect's TURN servers are IPv4) and a
// Result carrying the target and address. When resolving fails, ok is
// false and the Result is a skip at result.PhaseResolve: dns.resolve reports
// the failure itself, so it is not counted twice.
func resolveUDP(ctx context.Context, env *Env, t Target) (netip.AddrPort, Result, bool) {
	r := Result{Target: t.Name}
	e := t.Endpoint
	ans := env.DNS.Lookup(ctx, e.Host)
	if ans.Err != nil || len(ans.Addrs) == 0 {
		r.Status, r.Phase = Skip, result.PhaseResolve
		r.Reason = fmt.Sprintf("%s did not resolve, so UDP %d could not be tested (see dns.resolve)", e.Host, e.Port)
		return netip.AddrPort{}, r, false
	}
	a := preferIPv4(ans.Addrs)
	ap := netip.AddrPortFrom(a, uint16(e.Port))
	r.Address = ap.String()
	return ap, r, true
}

// udpTransaction runs one STUN transaction (do, on a fresh UDP socket to
// t's server) the way stun.binding and turn.auth-challenge do, and grades
// what they grade alike: t that does not resolve, a socket that does not
// open, a request that does not build, no answer. It records the sent
// metric, and rtt_ms when an answer came. ok is false when r is final;
// else x.Response is set and local is the socket's address. The socket is
// closed when it returns.
func udpTransaction(ctx context.Context, env *Env, t Target, do func(conn *net.UDPConn) (Exchange, error)) (x Exchange, local net.Addr, r Result, ok bool) {
	addr, r, ok := resolveUDP(ctx, env, t)
	if !ok {
		return Exchange{}, nil, r, false
	}
	conn, err := DialUDP(ctx, addr)
	if err != nil {
		return Exchange{}, nil, udpFailure(env.Cfg, t.Endpoint, r, result.PhaseSocket, Classify(err), err), false
	}
	defer conn.Close()
	x, err = do(conn)
	if err != nil {
		return x, nil, udpInternal(r, err), false
	}
	r.SetMetric("sent", float64(x.Sent))
	if !x.OK() {
		return x, nil, udpExchangeFailure(env.Cfg, t.Endpoint, r, x), false
	}
	r.SetMetric("rtt_ms", ms(x.RTT))
	return x, conn.LocalAddr(), r, true
}

// udpExchangeFailure turns a failed STUN transaction into a fail Result
// naming the phase: result.PhaseSend when the datagram could not leave
// this computer, result.PhaseResponse when nothing (or junk) came back.
func udpExchangeFailure(cfg *config.Config, e catalog.Endpoint, r Result, x Exchange) Result {
	phase := result.PhaseResponse
	if x.Sent == 0 || x.Kind == KindPermission {
		phase = result.PhaseSend
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
		r.Reason = what + " failed" + seeDetails
		rawError(&r, err)
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

// udpInternal is a probe bug (a request that does not build).
func udpInternal(r Result, err error) Result {
	r.Status, r.Phase, r.Reason = Fail, result.PhaseInternal, fmt.Sprintf("internal error: %v (a bug: please report it)", err)
	return r
}

// udpNetwork is "udp4" or "udp6" for addr's family.
func udpNetwork(addr netip.AddrPort) string {
	if addr.Addr().Unmap().Is4() {
		return "udp4"
	}
	return "udp6"
}
