// media.relay's diagnosis: why a call through the relay did not connect
// (from what the TURN guard saw on the wire and pion's logs) and the
// remedy for each cause.

package probe

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/pion/logging"
	"github.com/pion/stun/v4"
)

// relayRemedy is the rule to allow for the TURN URL's transport.
func relayRemedy(cfg *config.Config, u config.TURNURL) string {
	if !u.Secure && u.Transport == "udp" {
		return RemedyTURN(cfg, urlEndpoint(u))
	}
	return fmt.Sprintf("allow outbound TCP %d to %s", u.Port, u.Host)
}

const remedyCreds = "give current TURN credentials: the CCP's expire with the agent's session, so fetch fresh ones (the softphoneMediaConnections of CreateTransport) and pass them with --ice-servers FILE"

// check fails fast on what the wire and pion already told.
func (s *relaySession) check(cfg *config.Config, u config.TURNURL) *Result {
	g := s.guard.state()
	s.mu.Lock()
	a, b := s.side[0], s.side[1]
	s.mu.Unlock()
	fail := func(phase, reason, remedy string) *Result {
		return &Result{Status: Fail, Phase: phase, Reason: reason, Remedy: remedy}
	}
	if g.CredsRejected {
		return fail(result.PhaseICE, fmt.Sprintf("the TURN server %s rejected the credentials (401 Unauthorized)", u.Addr()), remedyCreds)
	}
	if g.Received == 0 {
		for _, err := range []error{g.SendErr, g.ReadErr} {
			if k := Classify(err); k == KindRefused || k == KindPermission || k == KindUnreachable {
				return fail(result.PhaseICE, Explain(k, s.what(u)), relayRemedy(cfg, u))
			}
		}
	}
	if (a.gathered && a.relayCands == 0) || (b.gathered && b.relayCands == 0) {
		return s.noAllocation(cfg, u, g)
	}
	if a.iceFailed || b.iceFailed {
		return fail(result.PhaseICE, "the two peers could not reach each other through the TURN relay (ICE failed)"+turnSaid(g), remedyRelayPeers)
	}
	if a.failed || b.failed {
		return fail(result.PhaseDTLS, "the DTLS handshake through the TURN relay failed (a peer gave up on it)", remedyDTLS(u))
	}
	return nil
}

const remedyRelayPeers = "the TURN server must relay between its own relayed addresses (a real Amazon Connect TURN server does; coturn needs --allow-loopback-peers on a loopback lab); if a firewall inspects UDP 3478, let TURN Send/Data indications and ChannelData through"

// remedyDTLS is the remedy for a DTLS handshake that failed outright.
func remedyDTLS(u config.TURNURL) string {
	return "let DTLS through on UDP " + fmt.Sprint(u.Port) + " to " + u.Host + " (no UDP inspection or application filter that drops it) and check the path for heavy loss"
}

// remedyTURNError is what to do about a TURN error response (RFC 8656 codes).
func remedyTURNError(cfg *config.Config, u config.TURNURL, code int) string {
	switch code {
	case 403:
		return "the TURN server forbids this request (403): check the credentials are for this TURN server and that it allows relaying to the peers; " + remedyCreds
	case 437:
		return "an earlier allocation from the same local address and port is still alive on the TURN server (437): run the check again"
	case 486:
		return "too many allocations for these credentials (486 quota): close other softphone or preflight sessions using them, or wait a few minutes for their allocations to expire"
	case 508:
		return "the TURN server has no relay ports left (508): try again later or another TURN server of the region"
	}
	return relayRemedy(cfg, u)
}

func turnSaid(g guardState) string {
	if g.LastError == "" {
		return ""
	}
	return " (TURN said: " + g.LastError + ")"
}

// noAllocation explains a peer that gathered no relay candidate.
func (s *relaySession) noAllocation(cfg *config.Config, u config.TURNURL, g guardState) *Result {
	r := &Result{Status: Fail, Phase: result.PhaseICE}
	switch {
	case g.Received == 0:
		k := Classify(g.SendErr)
		if k == KindNone || k == KindOther {
			k = Classify(g.ReadErr)
		}
		if k == KindNone || k == KindOther {
			k = KindTimeout
		}
		r.Reason, r.Remedy = Explain(k, s.what(u)), relayRemedy(cfg, u)
	case g.LastError != "":
		r.Reason = "the TURN server refused the allocation" + turnSaid(g)
		r.Remedy = remedyTURNError(cfg, u, g.LastCode)
	default:
		r.Reason = "the TURN server answered but no relay allocation was made"
		r.Remedy = relayRemedy(cfg, u)
	}
	return r
}

// timeout explains a set-up that ran out of time, by how far it got, and
// names the limit and where it came from. It blames datagram sizes only
// when the size measurement (path.large-datagram's) shows them dropped.
func (s *relaySession) timeout(ctx context.Context, cfg *config.Config, u config.TURNURL) *Result {
	g := s.guard.state()
	s.mu.Lock()
	a, b := s.side[0], s.side[1]
	s.mu.Unlock()
	within := fmt.Sprintf("within %v", s.limit.Round(time.Millisecond))
	if g.FirstRTT > 0 {
		within += fmt.Sprintf(" (the limit for a path whose first TURN answer took %v: %d round trips of the relay loop, between %v and the CCP's own %v ICE limit, or --timeout when longer)",
			g.FirstRTT.Round(time.Millisecond), relaySetupRounds, relaySetup(cfg), relayICELimit)
	}
	r := &Result{Status: Fail, Phase: result.PhaseICE}
	switch {
	case g.Received == 0:
		k := Classify(g.SendErr)
		if k == KindNone || k == KindOther {
			k = KindTimeout
		}
		r.Reason, r.Remedy = Explain(k, s.what(u)), relayRemedy(cfg, u)
	case a.relayCands == 0 || b.relayCands == 0:
		r.Reason = fmt.Sprintf("the TURN server answered but did not give a relay allocation %s%s", within, turnSaid(g))
		r.Remedy = relayRemedy(cfg, u)
	case a.iceConnected.IsZero() || b.iceConnected.IsZero():
		r.Reason = fmt.Sprintf("both relay allocations were made, but the peers did not reach each other through the relay %s%s", within, turnSaid(g))
		r.Remedy = remedyRelayPeers
	default:
		r.Phase = result.PhaseDTLS
		r.Reason = fmt.Sprintf("ICE connected through the relay, but the DTLS handshake did not finish %s", within)
		r.Remedy = remedyDTLS(u)
		if v, ok := s.sizesNow(ctx); ok {
			if sr := gradeSizes(Result{}, v, s.role, u.Addr()); sr.Status == Fail || sr.Status == Warn {
				r.Reason += ": " + sr.Reason
				r.Remedy = sr.Remedy
			} else if v.Small {
				r.Reason += fmt.Sprintf("; datagram sizes are not the cause (%d bytes pass upstream%s)", v.Up, downWords(v))
			}
		}
	}
	return r
}

func downWords(v datagramSizes) string {
	if v.DownWhy != "" {
		return ""
	}
	return fmt.Sprintf(", %d downstream", v.Down)
}

// sizesNow returns the datagram size measurement (within ctx).
func (s *relaySession) sizesNow(ctx context.Context) (datagramSizes, bool) {
	if s.sizeFn == nil {
		return datagramSizes{}, false
	}
	return s.sizeFn(ctx)
}

// plainReason keeps a server's reason phrase to plain printable text (coturn
// ends some with a NUL byte), at most 80 characters.
func plainReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.TrimSpace(s)
}

// allocLog is the pion LoggerFactory of media.relay's peers: it prints
// nothing and keeps one fact, the TURN error code of a failed allocation,
// from the ICE agent's "failed to allocate on TURN client" warning. It
// covers TURN over TCP and TLS, whose bytes the guard does not parse.
// (pion's message carries the server address and error, never credentials.)
type allocLog struct{ g *turnGuard }

func (l allocLog) NewLogger(scope string) logging.LeveledLogger {
	if scope == "ice" {
		return iceLog{g: l.g}
	}
	return nopLog{}
}

type nopLog struct{}

func (nopLog) Trace(string)          {}
func (nopLog) Tracef(string, ...any) {}
func (nopLog) Debug(string)          {}
func (nopLog) Debugf(string, ...any) {}
func (nopLog) Info(string)           {}
func (nopLog) Infof(string, ...any)  {}
func (nopLog) Warn(string)           {}
func (nopLog) Warnf(string, ...any)  {}
func (nopLog) Error(string)          {}
func (nopLog) Errorf(string, ...any) {}

type iceLog struct {
	nopLog
	g *turnGuard
}

func (l iceLog) Warnf(format string, args ...any) {
	if strings.HasPrefix(format, "failed to allocate on TURN client") {
		l.g.allocFailed(fmt.Sprintf(format, args...))
	}
}

// allocFailed records the error code in pion's allocation failure message,
// "… Allocate error response (error 401: Unauthorized)". pion answers the
// first 401 challenge itself, so a 401 here means the credentials were
// rejected.
func (g *turnGuard) allocFailed(msg string) {
	_, rest, ok := strings.Cut(msg, "(error ")
	if !ok {
		return
	}
	num, reason, _ := strings.Cut(rest, ":")
	code, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return
	}
	g.mu.Lock()
	if code == int(stun.CodeUnauthorized) {
		g.st.CredsRejected = true
	} else if g.st.LastCode == 0 {
		g.st.LastCode = code
		g.st.LastError = fmt.Sprintf("Allocate %d %s", code, plainReason(strings.TrimSuffix(strings.TrimSpace(reason), ")")))
	}
	g.mu.Unlock()
	g.ping()
}
