package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// LargeDatagramBytes is the upstream size the old single-size check sent;
// the measurement now bisects a ladder of sizes (sizeLadder) in each
// direction. Kept for callers that pad a request to "large".
const LargeDatagramBytes = 1200

// stunOverhead is the STUN header (20), the padding attribute's header (4)
// and FINGERPRINT (8): what a padded Binding adds around the padding.
const stunOverhead = 20 + 4 + 8

// pathLargeDatagram measures, for each TURN server's UDP port, the largest
// datagram that passes upstream (padded STUN Bindings of each ladder size,
// each answered by the server) and downstream (with credentials: datagrams
// of each size sent by a peer socket of ours to a relay allocation and
// delivered by the server to us on the TURN port), and grades them by
// what a browser's DTLS handshake needs in its role (config dtls_role):
// gradeSizes. A small Binding is the control.
var pathLargeDatagram = Probe{
	Kind:    result.Kind{ID: "path.large-datagram", Layer: result.LayerMedia, DependsOn: []string{"stun.binding"}},
	Budget:  largeBudget,
	Targets: turnTargets,
	Run:     runLargeDatagram,
}

// largeDownBudget bounds the downstream measurement (an allocation, a
// permission and the ladder through the relay: about four round trips),
// like turn.allocate's 3 s.
const largeDownBudget = 3 * time.Second

// largeBudget is udpBudget, or largeDownBudget (capped by --timeout) when
// credentials let the downstream direction be measured too.
func largeBudget(c *config.Config) time.Duration {
	if c != nil && len(c.ICEServers) > 0 {
		return capped(largeDownBudget)(c)
	}
	return udpBudget(c)
}

func runLargeDatagram(ctx context.Context, env *Env, t Target) Result {
	addr, r, ok := resolveUDP(ctx, env, t)
	if !ok {
		return r
	}
	v, ok := env.datagramSizesFor(ctx, addr, t.Endpoint.Host)
	if !ok {
		r.Status, r.Reason = Skip, "cancelled before the datagram sizes were measured"
		return r
	}
	return gradeSizes(r, v, env.Cfg.DTLSRole, t.Endpoint.Addr())
}

// roleWords names the browser's DTLS role as configured.
func roleWords(role string) string {
	switch role {
	case config.DTLSClient:
		return "the browser is the DTLS client (dtls_role: client)"
	case config.DTLSServer:
		return "the browser is the DTLS server (dtls_role: server)"
	}
	return "the browser's DTLS role is not known (dtls_role unset)"
}

// gradeSizes judges a measurement for a browser in role (config.DTLSClient,
// config.DTLSServer or "" for not known) talking to what (HOST:PORT):
//   - upstream below NeedUpServer: no handshake passes in either role: fail;
//   - upstream below NeedUpClient: the browser's ClientHello is dropped:
//     fail when it is the DTLS client, pass when it is the server, warn when
//     the role is not known (Connect's answer decides; AWS does not say);
//   - downstream below NeedUpServer: fail; below NeedDown: warn (the media
//     server's own handshake datagrams are of unpublished size).
//
// Each reason says which direction drops what, and which role stalls.
func gradeSizes(r Result, v datagramSizes, role, what string) Result {
	r.SetDetail("dtls_role", roleWords(role))
	if !v.Small {
		// stun.binding reports the path itself.
		r.Status, r.Phase = Skip, result.PhaseSmall
		r.Reason = fmt.Sprintf("even small UDP datagrams to %s got no answer (see stun.binding), so large ones could not be judged", what)
		if code, phrase := v.SmallX.ErrorCode(); code != 0 {
			r.Reason = fmt.Sprintf("even the small Binding to %s was answered with error %d %s (see stun.binding), so large datagrams could not be judged", what, code, phrase)
		}
		return r
	}
	r.SetMetric("small_rtt_ms", ms(v.SmallRTT))
	r.SetMetric("up_max_bytes", float64(v.Up))
	if v.DownWhy == "" {
		r.SetMetric("down_max_bytes", float64(v.Down))
	} else {
		r.SetDetail("downstream", "not measured: "+v.DownWhy)
	}
	if v.DownDetail != "" {
		r.SetDetail("downstream_error", v.DownDetail)
	}
	r.SetDetail("sizes_tried", fmt.Sprint(sizeLadder))
	r.Status = Pass
	var reasons, remedies []string
	worse := func(s Status) {
		if s.Severity() > r.Status.Severity() {
			r.Status = s
		}
	}
	upPassed := fmt.Sprintf("UDP datagrams to %s pass up to %d bytes", what, v.Up)
	if v.Up == 0 {
		upPassed = fmt.Sprintf("small UDP datagrams to %s pass", what)
	}
	upNext := nextSize(v.Up)
	// What happened to the next size: silence, or an error answer (which
	// proves nothing: whatever answered did not handle it like a small one).
	noAnswer := "get no answer"
	if code, phrase := v.UpX.ErrorCode(); code != 0 {
		noAnswer = fmt.Sprintf("got error %d %s instead of a success", code, phrase)
	}
	upRemedy := fmt.Sprintf("allow UDP datagrams of at least %d bytes (%d on the wire) and IP fragments to %s (check firewall size or fragment rules, and the MTU of VPN, PPPoE or other tunnels on the path)", NeedUpClient, NeedUpClient+28, what)
	switch {
	case v.Up >= NeedUpClient:
	case errors.Is(v.UpErr, syscall.EMSGSIZE):
		worse(Fail)
		reasons = append(reasons, fmt.Sprintf("this computer cannot send %d-byte UDP datagrams to %s (message too long: the interface or VPN MTU is too small; %d bytes pass): DTLS handshakes stall", upNext, what, v.Up))
		remedies = append(remedies, fmt.Sprintf("raise the MTU of the interface or tunnel used to reach %s to at least %d bytes", what, NeedUpClient+28))
	case v.UpX.Kind == KindPermission:
		worse(Fail)
		reasons = append(reasons, fmt.Sprintf("%d-byte UDP datagrams to %s are blocked on this computer (operation not permitted) while %d-byte ones pass: DTLS handshakes stall", upNext, what, v.Up))
		remedies = append(remedies, fmt.Sprintf("in this computer's own firewall, allow UDP datagrams of any size (at least %d bytes, and IP fragments) to %s", NeedUpClient, what))
	case v.Up < NeedUpServer:
		worse(Fail)
		reasons = append(reasons, fmt.Sprintf("upstream: %s but %d-byte ones %s: a browser's DTLS handshake cannot reach the TURN server in either role (%d bytes with TURN framing as DTLS server, %d as client), so calls connect ICE and then stall: look for a firewall dropping large UDP or fragments",
			upPassed, upNext, noAnswer, NeedUpServer, NeedUpClient))
		remedies = append(remedies, upRemedy)
	default: // NeedUpServer ≤ up < NeedUpClient
		base := fmt.Sprintf("upstream: %s but %d-byte ones %s, so the browser's DTLS ClientHello (%d bytes, %d with TURN framing) is dropped", upPassed, upNext, noAnswer, browserClientHelloBytes, NeedUpClient)
		switch role {
		case config.DTLSClient:
			worse(Fail)
			reasons = append(reasons, base+": the browser is the DTLS client (dtls_role: client), so calls connect ICE and then stall in the DTLS handshake")
			remedies = append(remedies, upRemedy)
		case config.DTLSServer:
			r.SetDetail("upstream", base+"; the browser is the DTLS server (dtls_role: server), whose largest handshake datagram is "+fmt.Sprint(NeedUpServer)+" bytes with TURN framing: calls connect")
		default:
			worse(Warn)
			reasons = append(reasons, base+fmt.Sprintf(": calls stall if Connect's media server makes the browser the DTLS client (a=setup:passive in its answer), and connect if it makes it the DTLS server (a=setup:active: the browser's largest handshake datagram is then %d bytes); AWS does not document which, so set dtls_role in the config once known", NeedUpServer))
			remedies = append(remedies, upRemedy)
		}
	}
	if v.DownWhy == "" && v.Down < NeedDown {
		downRemedy := fmt.Sprintf("allow UDP datagrams of at least %d bytes and IP fragments from %s back to this computer (stateful firewall or NAT size and fragment rules, and tunnel MTUs)", NeedDown, what)
		if v.Down < NeedUpServer {
			worse(Fail)
			reasons = append(reasons, fmt.Sprintf("downstream: datagrams from %s arrive only up to %d bytes: the media server's DTLS handshake flight (a certificate: %d bytes and more with TURN framing) cannot reach this computer in either role, so calls stall after ICE connects", what, v.Down, NeedUpServer))
		} else {
			worse(Warn)
			reasons = append(reasons, fmt.Sprintf("downstream: datagrams from %s arrive only up to %d bytes: a call stalls if Connect's media server sends a larger handshake datagram (AWS does not publish their size; a DTLS stack fragmenting at 1200 bytes sends %d with TURN framing)", what, v.Down, NeedDown))
		}
		remedies = append(remedies, downRemedy)
	}
	if r.Status != Pass {
		r.Phase = result.PhaseLarge
		r.Reason = strings.Join(reasons, "; ")
		r.Remedy = strings.Join(remedies, "; ")
	}
	return r
}

// nextSize is the ladder size after n (the first that did not pass).
func nextSize(n int) int {
	for _, s := range sizeLadder {
		if s > n {
			return s
		}
	}
	return n
}
