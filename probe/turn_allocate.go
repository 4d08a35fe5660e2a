package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// turnAllocateRounds is turn.allocate's exchange in round trips between
// this computer and the TURN server: TCP connect and two TLS flights for
// turns:, Allocate twice (the 401 challenge), CreatePermission, and the
// data loop through the relay (two), with room for two lost datagrams.
// Until the server first answers the check gets silentLimit (a blackholed
// server is reported within 3 s); afterwards this many of the largest
// round trip the path showed (TCP connect, TLS handshake, first answer), at most
// the CCP's 8 s ICE limit (pathScaledLimit). A fixed 3 s failed a working
// UDP path at 1 s RTT ("no answer … silently drops it"), where a
// browser would connect.
const turnAllocateRounds = 12

// turnAllocateBudget is the most turn.allocate may take for one URL: the
// CCP's ICE limit, or --timeout when longer.
func turnAllocateBudget(c *config.Config) time.Duration {
	if c == nil {
		return relayICELimit
	}
	return max(relayICELimit, c.Timeout)
}

// turnPeerBindingTimeout bounds the STUN Binding our test peer socket
// makes to learn its public address; without an answer the peer's local
// address is used (enough when there is no NAT).
const turnPeerBindingTimeout = 750 * time.Millisecond

// turnDataInterval is the resend interval of the data sent through the
// relay until the echo comes back.
const turnDataInterval = 100 * time.Millisecond

// turnAllocate proves, with the credentials given, a full TURN allocation
// over the URL's transport (UDP; TCP; TLS for turns:), a permission, and
// data through the relay and back: from the allocation to a second UDP
// socket of ours (the peer), which echoes it back through the relay.
var turnAllocate = Probe{
	Kind: result.Kind{ID: "turn.allocate", Layer: result.LayerMedia, DependsOn: []string{"stun.binding"},
		Causes: []result.Cause{{Phases: []string{result.PhaseAuth}, Rank: 60, Who: result.WhoConnectAdmin,
			Title: "The TURN server refuses the TURN credentials", Remedy: "{remedy}"}}},
	Budget:  turnAllocateBudget,
	Targets: turnAllocateTargets,
	Why: func(*config.Config) string {
		return "no TURN credentials given (--ice-servers FILE or $" + config.EnvICEServersFile + ")"
	},
	Run: runTURNAllocate,
}

// turnAllocateTargets is one target per turn:/turns: URL of the ICE
// servers. The name is the URL, which carries no credential.
func turnAllocateTargets(c *config.Config) []Target {
	var ts []Target
	for i := range c.ICEServers {
		ice := &c.ICEServers[i]
		for _, raw := range ice.URLs {
			u, err := config.ParseTURNURL(raw)
			if err != nil {
				continue // validated when loaded; stun: URLs and the like are not TURN
			}
			ts = append(ts, Target{
				Name:     raw,
				Endpoint: catalog.Endpoint{Host: u.Host, Port: u.Port, Service: catalog.AmazonConnect, Purpose: "TURN with credentials"},
				ICE:      ice,
				URL:      u,
			})
		}
	}
	return ts
}

func runTURNAllocate(ctx context.Context, env *Env, t Target) (r Result) {
	if t.ICE == nil {
		return Result{Target: t.Name, Status: Skip, Reason: "no credentials for this target"}
	}
	secrets := []string{t.ICE.Username.Reveal(), t.ICE.Credential.Reveal()}
	defer func() { r = scrubResult(r, secrets) }()

	addr, r, ok := resolveUDP(ctx, env, t)
	if !ok {
		return r
	}
	ctx, limit := withPathLimit(ctx, env.Cfg, turnAllocateRounds)
	defer limit.Stop()
	defer func() { r = slowTURN(ctx, r, limit) }()
	transport := turnTransport(t.URL)
	r.SetDetail("transport", transport)
	what := fmt.Sprintf("TURN over %s to %s", strings.ToUpper(transport), t.Endpoint.Addr())
	remedy := turnRemedy(env.Cfg, t)

	// The socket to the TURN server.
	var conn net.PacketConn
	switch {
	case transport == "udp":
		pc, err := net.ListenUDP(udpNetwork(addr), nil)
		if err != nil {
			return turnFail(r, result.PhaseSocket, fmt.Sprintf("could not open a UDP socket: %v", err), "")
		}
		conn = pc
	default:
		d := net.Dialer{}
		t0 := time.Now()
		c, err := d.DialContext(ctx, "tcp", addr.String())
		if err == nil {
			limit.Seen(time.Since(t0)) // the SYN's round trip
		}
		if err != nil {
			k := turnKind(ctx, err)
			return turnFail(r, result.PhaseConnect, Explain(k, fmt.Sprintf("TCP %d to %s", t.Endpoint.Port, t.Endpoint.Addr())), remedyTURNTCP(t))
		}
		if transport == "tls" {
			tc := tls.Client(c, &tls.Config{RootCAs: env.Cfg.Roots, ServerName: t.URL.Host, MinVersion: tls.VersionTLS12})
			t0 := time.Now()
			err := tc.HandshakeContext(ctx)
			if err == nil {
				limit.Seen(time.Since(t0)) // one round trip or two: the server's, through any middlebox
			}
			if err != nil {
				_ = c.Close()
				reason := fmt.Sprintf("TLS handshake with %s failed: %v", t.Endpoint.Addr(), err)
				var ua x509.UnknownAuthorityError
				if errors.As(err, &ua) && ua.Cert != nil {
					reason = fmt.Sprintf("TLS handshake with %s failed: its certificate is issued by %q, which this computer does not trust (likely TLS inspection, or a missing ca_files entry)", t.Endpoint.Addr(), ua.Cert.Issuer.String())
					r.SetDetail("issuer", ua.Cert.Issuer.String())
				} else if k := turnKind(ctx, err); k != KindOther {
					reason = Explain(k, "the TLS handshake with "+t.Endpoint.Addr())
				}
				return turnFail(r, result.PhaseTLS, reason, "if TLS inspection is in the path, exempt "+t.Endpoint.Host+" from it; "+remedyTURNTCP(t))
			}
			c = tc
		}
		conn = turn.NewSTUNConn(c)
	}
	// Owned sockets; all closed at the end, or when ctx ends.
	var owned closeStack
	owned.Add(func() { _ = conn.Close() })
	defer owned.Close()
	stop := owned.CloseOnDone(ctx)
	defer stop()

	client, err := startTURNClient(addr, t.ICE, &rttConn{PacketConn: conn, seen: limit.Seen}, &owned)
	if err != nil {
		return udpInternal(r, err)
	}

	// The peer: a second UDP socket of ours that echoes what the relay
	// sends it. It learns its public address meanwhile.
	peer, peerAddr, err := turnPeer(ctx, addr, t)
	if err != nil {
		return turnFail(r, result.PhaseSocket, fmt.Sprintf("could not open the test peer's UDP socket: %v", err), "")
	}
	owned.Add(func() { _ = peer.Close() })

	start := time.Now()
	relayConn, err := client.AllocateWithContext(ctx)
	if err != nil {
		return turnAllocateError(ctx, r, t.Endpoint, what, remedy, err)
	}
	r.SetMetric("allocate_ms", ms(time.Since(start)))
	owned.Add(func() { _ = relayConn.Close() })
	relayed, _ := netip.ParseAddrPort(relayConn.LocalAddr().String())
	r.SetDetail("relayed_address", relayed.String())

	pa := <-peerAddr
	r.SetDetail("peer_address", pa.String())
	if err := client.CreatePermission(net.UDPAddrFromAddrPort(pa)); err != nil {
		var te *stun.TurnError
		if errors.As(err, &te) {
			r.Status, r.Phase = Warn, result.PhasePermission
			r.Reason = fmt.Sprintf("the TURN allocation works, but the server refused a permission for our test peer %s (%d %s), so data through the relay was not tested", pa, te.ErrorCodeAttr.Code, te.ErrorCodeAttr.Reason)
			r.Remedy = "nothing to change on this network for the allocation; media.relay tests data through the relay between two allocations"
			return r
		}
		k := turnKind(ctx, err)
		return turnFail(r, result.PhasePermission, Explain(k, "the CreatePermission request ("+what+")"), remedy)
	}

	// Data: the peer sends a first datagram to the relayed address (opening
	// its NAT toward it) and echoes what comes from there; we send through
	// the relay until the echo comes back.
	dataStart := time.Now()
	res := turnDataLoop(ctx, relayConn, peer, relayed, pa)
	if res.rtt > 0 {
		r.Status = Pass
		r.SetMetric("rtt_ms", ms(res.rtt))
		return r
	}
	if ctx.Err() != nil && !limitEnded(ctx) {
		r.Status, r.Reason = Skip, "cancelled before it finished (interrupted)"
		return r
	}
	rtt, _ := limit.State()
	switch {
	case limitEnded(ctx) && limit.Slow() && time.Since(dataStart) < 3*rtt:
		// The limit ended before data could have gone round on this
		// path: too slow, not silent (slowTURN says so).
		r = turnFail(r, result.PhaseRelay, "the data through the relay did not come back before the limit", remedy)
	case res.peerGot:
		r = turnFail(r, result.PhaseRelay, fmt.Sprintf("the relay delivered our data to the test peer, but the peer's echo never came back through %s: data from the relay toward this computer is lost", what), remedy)
	case res.clientGot:
		r = turnFail(r, result.PhaseRelay, fmt.Sprintf("data from the test peer reached us through the relay, but data we sent through %s never reached the peer", what), remedy)
	default:
		r.Status, r.Phase = Warn, result.PhaseRelay
		r.Reason, r.Remedy = silentRelay(relayed, pa, addr)
	}
	return r
}

// silentRelay explains an allocation whose relayed address exchanged no
// test data with our test peer in either direction. That alone does not
// say where it is lost: the relayed address the server gave out may not
// answer from here (a private or wrong address, or relay ports closed on
// the server's side), or a firewall or NAT here may block UDP between
// this computer and the relay's ports (a path the softphone does not
// need). A relayed address that cannot be reached from the internet while
// the server can is named as the server's fault.
func silentRelay(relayed, peer, server netip.AddrPort) (reason, remedy string) {
	ra, sa := relayed.Addr().Unmap(), server.Addr().Unmap()
	public := func(a netip.Addr) bool { return a.IsGlobalUnicast() && !a.IsPrivate() }
	if !public(ra) && public(sa) {
		return fmt.Sprintf("the allocation and permission work, but the TURN server %s gave out the relayed address %s, which cannot be reached from the internet (not a public address): data through the relay cannot work, whatever this network does", server, relayed),
			"nothing to change on this network: the TURN server's relay address is misconfigured (on coturn: external-ip); media.relay shows whether calls through it work"
	}
	return fmt.Sprintf("the allocation and permission work, but the relayed address %s and our test peer %s exchanged no data in either direction: either that address does not answer from here (the server gave out an address that does not relay, or its relay ports are closed on its side) or a firewall or NAT here blocks UDP between this computer and the relay's ports (a path the softphone does not need), so data through the relay is not proven", relayed, peer),
		"nothing needed for the softphone if media.relay passes; if it fails too, check the TURN server's relayed addresses; to prove this path here, allow UDP from " + relayed.Addr().String() + " to this computer"
}

// turnAllocateError reports a failed Allocate: wrong credentials, another
// TURN error, or a network failure.
func turnAllocateError(ctx context.Context, r Result, e catalog.Endpoint, what, remedy string, err error) Result {
	var te *stun.TurnError
	if errors.As(err, &te) {
		code := int(te.ErrorCodeAttr.Code)
		switch code {
		case int(stun.CodeUnauthorized):
			return turnFail(r, result.PhaseAuth, "TURN rejected the credentials: 401 Unauthorized (wrong or expired username/credential)",
				"use current TURN credentials: the CCP's are issued per agent session and expire; copy a fresh iceServers entry")
		case int(stun.CodeAllocQuotaReached), int(stun.CodeInsufficientCapacity):
			return turnFail(r, result.PhaseAllocate, fmt.Sprintf("TURN refused the allocation: %d %s (the server is at its limit for these credentials)", code, te.ErrorCodeAttr.Reason),
				"close other sessions using these credentials, or retry later")
		}
		return turnFail(r, result.PhaseAllocate, fmt.Sprintf("TURN refused the allocation: %d %s", code, te.ErrorCodeAttr.Reason), remedyNotTURN(e))
	}
	k := turnKind(ctx, err)
	if k == KindCancelled {
		r.Status, r.Reason = Skip, Explain(k, what)
		return r
	}
	reason := Explain(k, "the Allocate request ("+what+")")
	if k == KindPermission {
		remedy = "in this computer's own firewall (Windows Defender Firewall, endpoint security, nftables/iptables output rules): " + remedy
	}
	if k == KindOther {
		reason = fmt.Sprintf("the Allocate request (%s) failed: %v", what, err)
	}
	return turnFail(r, result.PhaseAllocate, reason, remedy)
}

// turnKind classifies an error of the TURN exchange: when our own limit
// closed the sockets, the cause is the timeout, not the closed socket.
func turnKind(ctx context.Context, err error) Kind {
	switch {
	case limitEnded(ctx):
		return KindTimeout
	case ctx.Err() != nil:
		return Classify(ctx.Err())
	}
	return Classify(err)
}

// slowTURN rewrites a timeout on a slow path (one whose largest
// round trip raised the limit): it is not silently dropped but slower than
// a call can use, and says so with the round trip and the limit it earned.
func slowTURN(ctx context.Context, r Result, limit *pathLimit) Result {
	rtt, lim := limit.State()
	if rtt <= 0 {
		return r
	}
	r.SetMetric("limit_rtt_ms", ms(rtt))
	if r.Status != Fail || !limitEnded(ctx) || !limit.Slow() {
		return r // a fast path that went silent keeps its "no answer" reason
	}
	r.Reason = fmt.Sprintf("the TURN server answered (round trip %s) but the exchange did not finish within %s (the limit that round trip earns: %d of them, at most the CCP's own %s ICE limit): this path is too slow or loses too much for a call to set up", rtt.Round(time.Millisecond), lim.Round(time.Millisecond), turnAllocateRounds, relayICELimit)
	r.Remedy = "find where the latency or loss comes from (a VPN, a satellite or congested link, a far TURN region): media.quality shows the round trip and loss a call gets; no firewall rule is missing"
	return r
}

// turnFail fills r as a failure at phase.
func turnFail(r Result, phase, reason, remedy string) Result {
	r.Status, r.Phase, r.Reason, r.Remedy = Fail, phase, reason, remedy
	return r
}

// turnRemedy is the rule for the URL's transport.
func turnRemedy(cfg *config.Config, t Target) string {
	if turnTransport(t.URL) == "udp" {
		return RemedyTURN(cfg, t.Endpoint)
	}
	return remedyTURNTCP(t)
}

// remedyTURNTCP is the rule for TURN over TCP or TLS.
func remedyTURNTCP(t Target) string {
	return fmt.Sprintf("allow outbound TCP %d to %s (TURN over %s)", t.Endpoint.Port, t.Endpoint.Host, strings.ToUpper(turnTransport(t.URL)))
}

// scrubResult removes any credential text from a result's strings
// (scrubSecrets on each).
func scrubResult(r Result, secrets []string) Result {
	clean := func(s string) string { return scrubSecrets(s, secrets...) }
	r.Target, r.Address, r.Reason, r.Remedy, r.Phase = clean(r.Target), clean(r.Address), clean(r.Reason), clean(r.Remedy), clean(r.Phase)
	for k, v := range r.Details {
		r.Details[k] = clean(v)
	}
	return r
}
