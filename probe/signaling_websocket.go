package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/coder/websocket"
)

// Time limits of signaling.websocket (docs/CHECKS.md#signalingwebsocket).
const (
	// signalingHeartbeat is how often the CCP sends on its signaling
	// WebSocket (amazon-connect-streams: a heartbeat every 10 s). A proxy
	// or firewall that cuts a socket idle for less breaks the CCP between
	// heartbeats, so the check stays idle this long before it pings.
	signalingHeartbeat = 10 * time.Second
	// wsUpgradeMax is the CCP's own limit for the WebSocket to connect
	// (connect-rtc-js: 10 s, then a retry); the upgrade's limit follows the
	// path's round trips up to it (wsUpgradeLimit).
	wsUpgradeMax = 10 * time.Second
	// wsUpgradeMin bounds the upgrade's answer on a fast path: one round
	// trip plus the server's work, with room for a lost segment's resend.
	wsUpgradeMin = 2 * time.Second
	// wsPingMin and wsPingMax bound the wait for each pong.
	wsPingMin = 2 * time.Second
	wsPingMax = 3 * time.Second
)

// signalingBudget is signaling.websocket's budget: TCP as tcp.connect,
// then the TLS answer and the upgrade together within the CCP's own 10 s
// for the WebSocket to connect (wsUpgradeMax), the hold and its last
// ping, and a margin to report.
func signalingBudget(c *config.Config) time.Duration {
	return capped(tcpBudget)(c) + wsUpgradeMax + signalingHold(c) + wsPingMax + 500*time.Millisecond
}

// signalingHold is how long the socket is kept open: one CCP heartbeat
// interval, or --duration when that is longer (a soak: a ping every
// heartbeat interval finds a limit on a connection's lifetime too).
func signalingHold(c *config.Config) time.Duration {
	if c != nil && c.Duration > signalingHeartbeat {
		return c.Duration
	}
	return signalingHeartbeat
}

// signalingWebSocket proves the CCP v2 signaling path: one long-lived
// WebSocket to *.transport.connect.REGION.amazonaws.com (the instance
// region's, and the Global Resiliency replica's), through the path the
// browser uses (the same proxy choice as tcp.connect): DNS, TCP 443, TLS,
// an RFC 6455 upgrade (github.com/coder/websocket), then the socket kept
// open and idle for a CCP heartbeat interval with pings. It tells apart a
// proxy that strips Upgrade (426), answers with its own page, or resets;
// and a proxy, firewall or NAT that cuts an idle or long-lived socket.
// Without a 101 (AWS refuses an unauthenticated upgrade with a 4xx) the
// path is proven up to the upgrade and the idle part is not tested.
var signalingWebSocket = Probe{
	Kind: result.Kind{ID: "signaling.websocket", Layer: result.LayerWeb, Perfdata: []string{"upgrade_ms", "ping_ms"},
		DependsOn: []string{"dns.resolve"}, Causes: signalingCauses},
	Budget:  signalingBudget,
	Targets: signalingTargets,
	Why:     func(*config.Config) string { return "no signaling host (signaling_url) configured" },
	Run:     runSignaling,
}

// signalingCauses are the root causes the signaling WebSocket shares with
// tcp.connect and tls.handshake (the same result.Cause: report.FindingsOf
// makes one finding of a cause several checks declare, its scope judged
// over all their results). A proxy that refuses every tunnel, TCP 443 open
// to none of Connect's sites, or TLS inspection of every one of them is one
// finding whose targets include the signaling domain (detail "domain"),
// not one for the web checks and another for the signaling socket.
var signalingCauses = []result.Cause{tcpCauses[0], tcpCauses[1], tlsCauses[0]}

// signalingTargets are the run's signaling WebSockets, named by URL
// (never with its query).
func signalingTargets(c *config.Config) []Target {
	var ts []Target
	for _, s := range c.Signaling {
		ts = append(ts, Target{Name: s.URL(), Endpoint: s.Endpoint})
	}
	return ts
}

func signalingFor(c *config.Config, name string) (config.Signaling, bool) {
	for _, s := range c.Signaling {
		if s.URL() == name {
			return s, true
		}
	}
	return config.Signaling{}, false
}

// signalingDomain is what remedies name: the region's signaling wildcard,
// or the configured host when the wildcard does not cover it (a staging or
// lab host).
func signalingDomain(sg config.Signaling) string {
	dom := catalog.SignalingDomain(sg.Region)
	if sg.Configured && !catalog.Covers(dom, sg.Endpoint.Host) {
		return sg.Endpoint.Host
	}
	return dom
}

// signalingRule is the allowlist rule for the signaling domain.
func signalingRule(cfg *config.Config, sg config.Signaling) string {
	dom := signalingDomain(sg)
	s := fmt.Sprintf("allow outbound TCP %d to %s (the CCP v2 signaling WebSocket)", sg.Endpoint.Port, dom)
	if cfg != nil && sg.Region != "" {
		s += fmt.Sprintf(" (Option 2: the EC2 ranges of %s and GLOBAL)", sg.Region)
	}
	return s
}

// expectedAnswer says what an unauthenticated upgrade should get here.
func expectedAnswer(cfg *config.Config, sg config.Signaling) string {
	if cfg.Lab {
		return "101 Switching Protocols (the lab's WebSocket server)"
	}
	if sg.Configured {
		return "101 while the URL is fresh (the CCP's transport URL is valid 85 s), else an HTTP 4xx from AWS; either proves the path"
	}
	return "an HTTP 4xx from AWS (the upgrade carries no session token): it proves the path up to the upgrade; a proxy's own page or a reset does not"
}

func runSignaling(ctx context.Context, env *Env, t Target) Result {
	cfg := env.Cfg
	sg, ok := signalingFor(cfg, t.Name)
	if !ok {
		return Result{Status: Fail, Phase: result.PhaseInternal, Reason: "no signaling target named " + t.Name + " (a bug: please report it)"}
	}
	e := sg.Endpoint
	r := Result{}
	r.SetDetail("url", sg.URL())
	r.SetDetail("host", sg.String())
	r.SetDetail("expected", expectedAnswer(cfg, sg))
	// What an allow rule names (the wildcard: the host changes per
	// session); findings list it as the target (report.FindingsOf).
	r.SetDetail("domain", signalingDomain(sg))
	rule := signalingRule(cfg, sg)

	if pc := proxyFor(ctx, env, e); pc.URL == nil {
		if ans := env.DNS.Lookup(ctx, e.Host); ans.Err != nil {
			return signalingUnresolved(r, sg, ans, rule)
		}
	}
	d, derr := dialEndpoint(ctx, env, e)
	if derr != nil {
		f := derr.result()
		r.Status, r.Phase, r.Address, r.Reason = Fail, f.Phase, f.Address, f.Reason
		r.Remedy = derr.Remedy
		if r.Phase == result.PhaseConnect {
			r.Remedy = connectRemedyRule(derr.Kind, rule)
		}
		if derr.Kind == KindCancelled {
			r.Status = Skip
		}
		return r
	}
	defer d.Conn.Close()
	r.Address = d.Addr
	r.SetMetric("connect_ms", ms(d.ConnectDur))
	via := "directly"
	if d.Proxy.URL != nil {
		r.SetDetail("proxy", d.Proxy.String())
		via = "through the proxy " + d.Proxy.String()
	}

	tc := tls.Client(d.Conn, &tls.Config{ServerName: e.Host, RootCAs: cfg.Roots, NextProtos: []string{"http/1.1"}})
	hctx, cancel := context.WithTimeout(ctx, tlsAnswerWait)
	tstart := time.Now()
	err := tc.HandshakeContext(hctx)
	cancel()
	tlsDur := time.Since(tstart)
	r.SetMetric("tls_ms", ms(tlsDur))
	if err != nil {
		return signalingTLSFailure(r, sg, err, via, rule)
	}
	cs := tc.ConnectionState()
	issuer := ""
	if len(cs.PeerCertificates) > 0 {
		issuer = certIssuer(cs.PeerCertificates[0])
		r.SetDetail("issuer", issuer)
	}

	// The upgrade, on this very connection: the transport dials nothing.
	var used atomic.Bool
	tr := &http.Transport{
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
			if used.Swap(true) {
				return nil, errors.New("signaling.websocket: one connection only")
			}
			return tc, nil
		},
		DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	limit := wsUpgradeLimit(d.ConnectDur + d.TunnelDur + tlsDur)
	_ = tc.SetDeadline(time.Now().Add(limit))
	ustart := time.Now()
	c, resp, err := websocket.Dial(ctx, sg.RequestURL(), &websocket.DialOptions{HTTPClient: client})
	upDur := time.Since(ustart)
	_ = tc.SetDeadline(time.Time{})
	if resp != nil {
		r.SetMetric("upgrade_ms", ms(upDur))
		r.SetDetail("http_status", resp.Status)
		if s := resp.Header.Get("Server"); s != "" {
			r.SetDetail("server", s)
		}
		if v := resp.Header.Get("Via"); v != "" {
			r.SetDetail("via", v)
		}
	}
	if err != nil {
		return upgradeFailure(r, cfg, sg, resp, scrubbed(sg, err), via, issuer, cs, limit, rule)
	}
	return holdSocket(ctx, r, sg, c, timingFor(ctx, cfg), via)
}

// scrubbed is err with the URL's query (a session token) cut out of its
// text: Go's HTTP client quotes the URL in its errors. The cause is kept
// for errors.Is and classification.
func scrubbed(sg config.Signaling, err error) error {
	if err == nil {
		return nil
	}
	q := sg.Query.Reveal()
	if q == "" || !strings.Contains(err.Error(), q) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), "?"+q, ""), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// wsTiming is how long the socket is held and how long it idles between
// pings: signalingHold and signalingHeartbeat, unless a test's context
// carries shorter ones (withTiming).
type wsTiming struct{ hold, heartbeat time.Duration }

type wsTimingKey struct{}

func timingFor(ctx context.Context, cfg *config.Config) wsTiming {
	if v, ok := ctx.Value(wsTimingKey{}).(wsTiming); ok {
		return v
	}
	return wsTiming{hold: signalingHold(cfg), heartbeat: signalingHeartbeat}
}

// wsUpgradeLimit is the time the upgrade's answer may take: four times what
// TCP, the tunnel and TLS took (about three round trips), within
// [wsUpgradeMin, wsUpgradeMax]: a slow path that has answered so far is
// given the CCP's own 10 s.
func wsUpgradeLimit(setup time.Duration) time.Duration {
	return min(max(4*setup, wsUpgradeMin), wsUpgradeMax)
}

// connectRemedyRule is connectRemedy for a rule in words.
func connectRemedyRule(k Kind, rule string) string {
	switch k {
	case KindPermission:
		return "a firewall on this computer blocks it: " + rule + " in the local firewall (or endpoint security product)"
	case KindRefused:
		return rule + "; a firewall that rejects (sends a reset) rather than drops is the likely cause"
	case KindUnreachable:
		return "give this computer a route to the internet (or set HTTPS_PROXY if only a proxy may go out), then " + rule
	}
	return rule
}

// signalingUnresolved reports a signaling host that did not resolve: a
// failure for the configured URL's host; for the catalog's stand-in name a
// skip (AWS publishes only the wildcard: the name may not exist at all).
func signalingUnresolved(r Result, sg config.Signaling, ans Answer, rule string) Result {
	r.Phase = result.PhaseResolve
	h := sg.Endpoint.Host
	if !sg.Configured {
		r.Status = Skip
		if ans.Kind == DNSNXDomain || ans.Kind == DNSNoData {
			r.Reason = fmt.Sprintf("not tested: %s, the name this check uses for lack of a published one, does not resolve (%s); AWS publishes only %s and the CCP gets its host per session. Set signaling_url in --config to the wss:// URL in the CCP's browser log to test the real one",
				h, ans.Kind, catalog.SignalingDomain(sg.Region))
		} else {
			r.Reason = fmt.Sprintf("not tested: %s did not resolve (%s; see dns.resolve)", h, ans.Kind)
		}
		return r
	}
	r.Status = Fail
	r.Reason = fmt.Sprintf("the CCP's signaling host %s (signaling_url) did not resolve (%s from %s): the CCP cannot open its signaling WebSocket (signalling_connection_failure)", h, ans.Kind, ans.Server)
	r.Remedy = fmt.Sprintf("make %s resolve: if a DNS filter blocks %s, allow it; then %s", h, signalingDomain(sg), rule)
	return r
}

// signalingTLSFailure reports a TLS handshake or chain that failed.
func signalingTLSFailure(r Result, sg config.Signaling, err error, via, rule string) Result {
	h := sg.Endpoint.Host
	r.Status, r.Phase = Fail, result.PhaseTLS
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		cve *tls.CertificateVerificationError
	)
	switch k := Classify(err); {
	case errors.As(err, &ua), errors.As(err, &he), errors.As(err, &cve):
		r.Phase = result.PhaseVerify
		// Who issued it, as tls.handshake names it: TLS inspection of
		// every endpoint is one finding naming the inspecting CA.
		switch {
		case ua.Cert != nil:
			r.SetDetail("issuer", certIssuer(ua.Cert))
		case he.Certificate != nil:
			r.SetDetail("issuer", certIssuer(he.Certificate))
		case cve != nil && len(cve.UnverifiedCertificates) > 0:
			r.SetDetail("issuer", certIssuer(cve.UnverifiedCertificates[0]))
		}
		r.Reason = fmt.Sprintf("the certificate presented for %s (%s) does not verify: TLS inspection or something else answering in its place (see tls.handshake)", h, via)
		r.Remedy = fmt.Sprintf("exempt %s from TLS inspection on the proxy or firewall (an inspected WebSocket often breaks); or, if the inspection is intended, trust its CA (ca_files for this tool)", signalingDomain(sg))
		r.SetDetail("error", err.Error())
	case k == KindTimeout:
		r.Reason = fmt.Sprintf("TCP to %s opened %s but no TLS answer came within %v: something holds the connection without speaking TLS (a captive portal or filtering proxy)", h, via, tlsAnswerWait)
		r.Remedy = rule + " in that filter"
	case k == KindReset:
		r.Reason = fmt.Sprintf("the connection to %s (%s) was reset during TLS, after the name was sent (SNI): a firewall or IPS filtering by domain name", h, via)
		r.Remedy = rule + " in the firewall's domain (SNI/URL) filter"
	case k == KindCancelled:
		r.Status, r.Reason = Skip, "cancelled before the TLS handshake finished (interrupted)"
	default:
		r.Reason = fmt.Sprintf("TLS with %s (%s) failed", h, via)
		r.Remedy = rule
		r.SetDetail("error", err.Error())
	}
	return r
}

// upgradeFailure describes an upgrade that did not switch protocols.
func upgradeFailure(r Result, cfg *config.Config, sg config.Signaling, resp *http.Response, err error, via, issuer string, cs tls.ConnectionState, limit time.Duration, rule string) Result {
	h := sg.Endpoint.Host
	dom := signalingDomain(sg)
	r.Status, r.Phase = Fail, result.PhaseUpgrade
	passUpgrade := fmt.Sprintf("on the proxy or TLS-inspecting firewall in the path, let WebSocket upgrades to %s through: keep the Upgrade and Connection headers (WebSocket support on), or exempt the domain from inspection; and %s", dom, rule)
	if resp == nil {
		r.SetDetail("error", err.Error())
		switch k := Classify(err); k {
		case KindTimeout:
			r.Reason = fmt.Sprintf("TLS with %s worked (%s) but the WebSocket upgrade got no answer within %v: something in the path holds upgrade requests", h, via, limit.Round(time.Millisecond))
		case KindReset:
			r.Reason = fmt.Sprintf("the connection to %s (%s) was reset when the WebSocket upgrade was sent: a proxy or firewall refusing WebSockets", h, via)
		case KindCancelled:
			r.Status, r.Reason = Skip, "cancelled before the upgrade was answered (interrupted)"
			return r
		default:
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				r.Reason = fmt.Sprintf("the connection to %s (%s) was closed when the WebSocket upgrade was sent: a proxy or firewall refusing WebSockets", h, via)
			} else {
				r.Reason = fmt.Sprintf("the WebSocket upgrade to %s (%s) failed: no valid HTTP answer", h, via)
			}
		}
		r.Remedy = passUpgrade
		return r
	}
	code := resp.StatusCode
	body := ""
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		body = strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
		if len(body) > 160 {
			body = body[:160] + "…"
		}
		if body != "" {
			r.SetDetail("body", body)
		}
	}
	proxyAnswered := resp.Header.Get("Via") != "" || isProxyServer(resp.Header.Get("Server"))
	switch {
	case code == http.StatusSwitchingProtocols:
		r.SetDetail("error", err.Error())
		r.Reason = fmt.Sprintf("%s answered 101 (%s) but not with a valid WebSocket handshake: something in the path answered in the server's place", h, via)
		r.Remedy = passUpgrade
	case code == http.StatusUpgradeRequired:
		r.Reason = fmt.Sprintf("the server at %s answered 426 Upgrade Required (%s): it received the request without its Upgrade header, so something in the path (a proxy or firewall inspecting TLS) strips Upgrade and the CCP's signaling WebSocket cannot open", h, via)
		r.Remedy = passUpgrade
	case proxyAnswered:
		r.Reason = fmt.Sprintf("the WebSocket upgrade to %s was answered %s by a proxy (%s), not by the server", h, resp.Status, proxyName(resp))
		r.Remedy = passUpgrade
	case code >= 400 && code < 500 && !cfg.Lab && isAWSName(h) && awsIssued(cs, h, cfg.Roots):
		r.Status, r.Phase = Pass, ""
		r.Reason = fmt.Sprintf("DNS, TCP 443 and TLS to %s work (%s), and AWS answered the unauthenticated WebSocket upgrade with %s as expected: the path carries it. Not tested: a long-lived idle socket (that needs the CCP's own session URL: set signaling_url to a fresh one from the CCP's browser log)", h, via, resp.Status)
	case code >= 400 && code < 500:
		r.Status = Warn
		r.Reason = fmt.Sprintf("the WebSocket upgrade to %s (%s) was answered %s, and the certificate (issued by %s) does not show AWS answered: the path may carry it, or a proxy or inspecting firewall refused it", h, via, resp.Status, issuer)
		r.Remedy = passUpgrade
	default:
		r.Reason = fmt.Sprintf("the WebSocket upgrade to %s (%s) was answered %s instead of 101 Switching Protocols", h, via, resp.Status)
		r.Remedy = passUpgrade
	}
	return r
}

// awsIssued reports whether the chain verifies and a CA AWS uses issued it.
func awsIssued(cs tls.ConnectionState, host string, roots *x509.CertPool) bool {
	if len(cs.PeerCertificates) == 0 {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter, Roots: roots})
	return err == nil && issuedBy(chains, awsIssuers)
}

// proxyServers are Server header values of common web proxies.
var proxyServers = []string{"squid", "bluecoat", "zscaler", "mcafee web gateway", "forcepoint", "websense", "fortigate", "netskope", "privoxy", "apache traffic server"}

func isProxyServer(s string) bool {
	s = strings.ToLower(s)
	for _, p := range proxyServers {
		if s != "" && strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func proxyName(resp *http.Response) string {
	if v := resp.Header.Get("Via"); v != "" {
		return "Via: " + v
	}
	return "Server: " + resp.Header.Get("Server")
}

// holdSocket keeps the upgraded socket open: a ping at once (the
// WebSocket's round trip), then idle for a heartbeat interval before each
// further ping, until the hold ends; a close, reset or unanswered ping on
// the way is a fail in phase idle.
func holdSocket(ctx context.Context, r Result, sg config.Signaling, c *websocket.Conn, tm wsTiming, via string) Result {
	h := sg.Endpoint.Host
	opened := time.Now()
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				readErr <- err
				return
			}
		}
	}()
	healthy := false
	defer func() {
		if healthy {
			_ = c.Close(websocket.StatusNormalClosure, "ccp-preflight: done")
		} else {
			_ = c.CloseNow()
		}
	}()
	rtt, err := wsPing(ctx, c, wsPingMax)
	if err != nil {
		return idleFailure(r, sg, scrubbed(sg, err), readErr, 0, time.Since(opened), 0, via)
	}
	r.SetMetric("ping_ms", ms(rtt))
	hold := tm.hold
	pings := 1
	for time.Since(opened) < hold {
		wait := min(tm.heartbeat, hold-time.Since(opened))
		idleFrom := time.Now()
		timer := time.NewTimer(wait)
		select {
		case err := <-readErr:
			timer.Stop()
			return idleFailure(r, sg, err, nil, time.Since(idleFrom), time.Since(opened), pings, via)
		case <-ctx.Done():
			timer.Stop()
			r.Status, r.Phase = Skip, result.PhaseIdle
			r.Reason = "cancelled while the socket was held open (interrupted)"
			return r
		case <-timer.C:
		}
		limit := min(max(4*rtt, wsPingMin), wsPingMax)
		p, err := wsPing(ctx, c, limit)
		if err != nil {
			return idleFailure(r, sg, err, readErr, time.Since(idleFrom), time.Since(opened), pings, via)
		}
		pings++
		rtt = max(rtt, p)
		r.SetMetric("ping_max_ms", ms(rtt))
	}
	healthy = true
	open := time.Since(opened)
	r.SetMetric("open_s", open.Seconds())
	r.SetMetric("pings", float64(pings))
	r.Status = Pass
	r.Reason = fmt.Sprintf("WebSocket to %s upgraded (101, %s) and stayed open %.1f s, idle %v between pings as between the CCP's heartbeats; %d pings answered, round trip %.1f ms",
		h, via, open.Seconds(), tm.heartbeat, pings, r.Metrics["ping_ms"])
	return r
}

// wsPing sends a ping and waits for its pong, at most limit.
func wsPing(ctx context.Context, c *websocket.Conn, limit time.Duration) (time.Duration, error) {
	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	err := c.Ping(pctx)
	return time.Since(start), err
}

// idleFailure reports a socket that broke while held: closed or reset
// (readErr, or the error in pending), or a ping left unanswered.
func idleFailure(r Result, sg config.Signaling, err error, pending <-chan error, idle, open time.Duration, pings int, via string) Result {
	h := sg.Endpoint.Host
	dom := signalingDomain(sg)
	if pending != nil {
		select {
		case rerr := <-pending:
			err = rerr
		case <-time.After(50 * time.Millisecond):
		}
	}
	r.Status, r.Phase = Fail, result.PhaseIdle
	r.SetMetric("open_s", open.Seconds())
	r.SetMetric("idle_s", idle.Seconds())
	err = scrubbed(sg, err)
	r.SetDetail("error", err.Error())
	who := "a firewall or NAT between this computer and " + h
	if p := r.Details["proxy"]; p != "" {
		who = "the proxy " + p + " (or a device beyond it)"
	}
	switch st := websocket.CloseStatus(err); {
	case Classify(err) == KindCancelled || errors.Is(err, context.Canceled):
		r.Status, r.Reason = Skip, "cancelled while the socket was held open (interrupted)"
		return r
	case st != -1:
		r.Reason = fmt.Sprintf("the server at %s closed the WebSocket (code %d) after %.1f s open", h, st, open.Seconds())
		r.Remedy = fmt.Sprintf("if %s is the CCP's own, nothing in the network closed it; else find what answers for %s in the path", h, dom)
		return r
	case pings == 0:
		r.Reason = fmt.Sprintf("the WebSocket to %s opened (101, %s) but did not answer a ping: it carries no data (a middlebox that accepts the upgrade but does not relay WebSocket frames)", h, via)
		r.Remedy = fmt.Sprintf("on %s, relay WebSocket traffic to %s (turn WebSocket support on, or exempt the domain from inspection)", who, dom)
		return r
	case idle > 0 && Classify(err) == KindTimeout:
		r.Reason = fmt.Sprintf("after %.1f s without traffic the WebSocket to %s (%s) no longer answered a ping: %s silently dropped the idle connection, and the CCP sends a heartbeat only every %v", idle.Seconds(), h, via, who, signalingHeartbeat)
	case idle > 0:
		r.Reason = fmt.Sprintf("the WebSocket to %s (%s) was cut after %.1f s without traffic (%.1f s open): %s closes idle connections sooner than the CCP's heartbeat every %v, so the CCP's signaling socket would be cut between heartbeats",
			h, via, idle.Seconds(), open.Seconds(), who, signalingHeartbeat)
	default:
		r.Reason = fmt.Sprintf("the WebSocket to %s (%s) broke after %.1f s open with traffic every %v: %s limits how long a connection may live", h, via, open.Seconds(), signalingHeartbeat, who)
		r.Remedy = fmt.Sprintf("on %s, remove the lifetime limit for connections to %s:%d (the CCP keeps its signaling socket open for the whole shift)", who, dom, sg.Endpoint.Port)
		return r
	}
	r.Remedy = fmt.Sprintf("on %s, raise the idle timeout for connections to %s:%d well above the CCP's %v heartbeat (AWS advises timeouts covering an agent's whole shift for devices doing TLS work)", who, dom, sg.Endpoint.Port, signalingHeartbeat)
	return r
}
