package probe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/pion/stun/v4"
)

// LargeDatagramBytes is the UDP payload size path.large-datagram sends:
// DTLS handshake flights carry certificates and are fragmented by pion and
// the browsers at about 1200 bytes, so a path that drops datagrams of this
// size lets ICE connect and then fails the DTLS handshake.
const LargeDatagramBytes = 1200

// stunOverhead is the STUN header (20), the padding attribute's header (4)
// and FINGERPRINT (8): what a padded Binding adds around the padding.
const stunOverhead = 20 + 4 + 8

// pathLargeDatagram sends, to each TURN server's UDP port, a small STUN
// Binding and a LargeDatagramBytes one (padded with a comprehension-optional
// attribute, PaddingAttr) at the same time on two sockets. Small passing
// while large is lost is the "DTLS handshakes fail" path. The responses are
// small: this proves the upstream direction; media.relay's DTLS handshake
// proves large datagrams downstream.
var pathLargeDatagram = Probe{
	Kind:    result.Kind{ID: "path.large-datagram", Layer: result.LayerMedia, DependsOn: []string{"stun.binding"}},
	Budget:  udpBudget,
	Targets: turnTargets,
	Run:     runLargeDatagram,
}

func runLargeDatagram(ctx context.Context, env *Env, t Target) Result {
	addr, r, ok := resolveUDP(ctx, env, t)
	if !ok {
		return r
	}
	type outcome struct {
		x   Exchange
		err error
	}
	var small, large outcome
	var wg sync.WaitGroup
	// Sockets are opened here, on the calling goroutine, then used
	// concurrently.
	for _, o := range []struct {
		out   *outcome
		extra []stun.Setter
	}{{&small, nil}, {&large, []stun.Setter{Padding(LargeDatagramBytes - stunOverhead)}}} {
		conn, err := DialUDP(ctx, addr)
		if err != nil {
			o.out.x = Exchange{Err: err, Kind: Classify(err)}
			continue
		}
		wg.Go(func() {
			defer conn.Close()
			o.out.x, _, o.out.err = Binding(ctx, conn, nil, Schedule{}, o.extra...)
		})
	}
	wg.Wait()
	if small.err != nil || large.err != nil {
		return udpInternal(r, errors.Join(small.err, large.err))
	}
	r.SetDetail("large_bytes", fmt.Sprint(LargeDatagramBytes))
	what := t.Endpoint.Addr()
	if !small.x.OK() {
		// stun.binding reports the path itself.
		r.Status, r.Phase = Skip, result.PhaseSmall
		r.Reason = fmt.Sprintf("even small UDP datagrams to %s got no answer (see stun.binding), so large ones could not be judged", what)
		return r
	}
	if code, phrase := small.x.ErrorCode(); code != 0 {
		// stun.binding reports a server that answers with errors.
		r.Status, r.Phase = Skip, result.PhaseSmall
		r.Reason = fmt.Sprintf("even the small Binding to %s was answered with error %d %s (see stun.binding), so large datagrams could not be judged", what, code, phrase)
		return r
	}
	if code, phrase := large.x.ErrorCode(); code != 0 {
		// An error answer is no proof: whatever answered (a server that
		// fails, a gateway answering for it) did not handle a datagram of
		// DTLS handshake size the way it handled the small one.
		r.Status, r.Phase = Fail, result.PhaseLarge
		r.Reason = fmt.Sprintf("the small Binding to %s got a normal answer, but the %d-byte one got error %d %s: datagrams of DTLS handshake size are not handled like small ones on this path, so DTLS handshakes may fail", what, LargeDatagramBytes, code, phrase)
		r.Remedy = fmt.Sprintf("check what answers large UDP datagrams to %s (a firewall or gateway inspecting STUN, or the server itself), and allow UDP datagrams of at least %d bytes through unchanged", what, LargeDatagramBytes)
		return r
	}
	if large.x.OK() {
		// A success answer to the padded request proves it arrived whole.
		r.Status = Pass
		r.SetMetric("rtt_ms", ms(large.x.RTT))
		r.SetMetric("small_rtt_ms", ms(small.x.RTT))
		return r
	}
	r.Status, r.Phase = Fail, result.PhaseLarge
	r.SetMetric("sent", float64(large.x.Sent))
	switch {
	case errors.Is(large.x.Err, syscall.EMSGSIZE):
		r.Reason = fmt.Sprintf("this computer cannot send %d-byte UDP datagrams to %s (message too long: the interface or VPN MTU is too small): DTLS handshakes will fail", LargeDatagramBytes, what)
		r.Remedy = fmt.Sprintf("raise the MTU of the interface or tunnel used to reach %s to at least %d bytes", t.Endpoint.Host, LargeDatagramBytes+28)
	case large.x.Kind == KindPermission:
		r.Reason = fmt.Sprintf("%d-byte UDP datagrams to %s are blocked on this computer (operation not permitted) while small ones pass: DTLS handshakes will fail", LargeDatagramBytes, what)
		r.Remedy = fmt.Sprintf("in this computer's own firewall, allow UDP datagrams of any size (at least %d bytes, and IP fragments) to %s", LargeDatagramBytes, what)
	default:
		r.Reason = fmt.Sprintf("small UDP datagrams to %s pass but %d-byte ones get no answer: DTLS handshakes will fail: look for a firewall dropping large UDP or fragments", what, LargeDatagramBytes)
		r.Remedy = fmt.Sprintf("allow UDP datagrams of at least %d bytes and IP fragments to %s (check firewall size or fragment rules, and the MTU of VPN, PPPoE or other tunnels on the path)", LargeDatagramBytes, what)
	}
	return r
}
