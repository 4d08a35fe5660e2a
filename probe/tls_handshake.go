package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

const (
	// handshakeTimeout bounds the TLS handshake with an HTTPS proxy
	// (dialProxy): two round trips plus the proxy's signature.
	handshakeTimeout = 1500 * time.Millisecond
	// tlsSlow is the handshake time above which tls.handshake warns: two
	// round trips anywhere on Earth (< 400 ms each) and the server's
	// signature take well under a second; more is something in the path
	// holding the handshake (an inspection proxy minting a certificate per
	// name, an overloaded firewall).
	tlsSlow = time.Second
)

// tlsAnswerWait is how long tls.handshake waits for the server's answer
// to its ClientHello once TCP is open: the CCP gives up its signaling
// WebSocket after 10 s (connect-rtc-js and Streams: connect timeout 10 s),
// so a server slower than that fails the CCP too, and one faster is only
// slow (a warning, with its time).
const tlsAnswerWait = 10 * time.Second

// tlsBudget bounds tls.handshake for one endpoint: TCP as in tcp.connect
// (capped by --timeout), then the answer wait. The wait is not cut by a
// short --timeout: a server that accepted the connection has shown it is
// there, and cutting it off would fail a path a browser uses.
func tlsBudget(c *config.Config) time.Duration {
	return capped(tcpBudget)(c) + tlsAnswerWait
}

// tlsHandshake proves TLS to each HTTPS endpoint with SNI, and that the
// certificate chains to a trusted root (system roots plus ca_files) and
// names the host. An untrusted issuer, or a trusted one AWS does not use,
// is reported as likely TLS inspection, naming the issuer. The server's
// answer is told apart: nothing within tlsAnswerWait (fail, naming the
// wait), a slow but complete handshake (warn, with its time), or bytes
// that are not TLS — a captive portal's HTTP redirect is quoted with its
// Location host (fail: sign in to the portal).
var tlsHandshake = Probe{
	Kind:    result.Kind{ID: "tls.handshake", Layer: result.LayerWeb, DependsOn: []string{"tcp.connect"}, Causes: tlsCauses},
	Budget:  tlsBudget,
	Targets: httpsTargets,
	Run:     runTLS,
}

// tlsCauses: TLS inspection of every endpoint is one root cause.
var tlsCauses = []result.Cause{
	{Phases: []string{result.PhaseVerify}, Details: []string{"issuer"}, Scope: result.ScopeAll, Rank: 70,
		Title:  "TLS inspection decrypts every HTTPS connection to Amazon Connect (certificates issued by {detail:issuer})",
		Remedy: "exempt these {n} names from TLS inspection on the proxy or firewall whose CA is {detail:issuer} (inspected WebSockets break the CCP): {targets}"},
}

// awsIssuers are the organisations whose CAs sign the certificates of
// Connect's endpoints (Amazon Trust Services; DigiCert and Starfield for
// older CloudFront and ELB certificates). Another issuer on an AWS name
// means someone else made the certificate.
var awsIssuers = []string{"Amazon", "DigiCert", "Starfield"}

// awsSuffixes are the domains whose certificates AWS issues.
var awsSuffixes = []string{".amazonaws.com", ".cloudfront.net", ".connect.aws", ".awsapps.com"}

func runTLS(ctx context.Context, env *Env, t Target) Result {
	e := t.Endpoint
	d, derr := dialEndpoint(ctx, env, e)
	if derr != nil {
		r := derr.result()
		if !derr.Skip {
			r.Status = Skip
			r.Reason = "not tested: no TCP connection (see tcp.connect): " + derr.Reason
			r.Remedy = ""
		}
		return r
	}
	defer d.Conn.Close()
	r := Result{Address: d.Addr}
	r.SetMetric("connect_ms", ms(d.ConnectDur))
	r.SetDetail("sni", e.Host)
	if d.Proxy.URL != nil {
		r.SetDetail("proxy", d.Proxy.String())
	}

	ac := &answerConn{Conn: d.Conn}
	tc := tls.Client(ac, &tls.Config{
		ServerName: e.Host,
		NextProtos: []string{"h2", "http/1.1"},
		// The chain is verified below, by hand, so that an untrusted one
		// can still be described (who issued it) instead of only refused.
		InsecureSkipVerify: true, //nolint:gosec // verified in verifyChain
	})
	hctx, cancel := context.WithTimeout(ctx, tlsAnswerWait)
	start := time.Now()
	err := tc.HandshakeContext(hctx)
	cancel()
	took := time.Since(start)
	r.SetMetric("handshake_ms", ms(took))
	if first, _ := ac.answer(); !first.IsZero() {
		r.SetMetric("first_answer_ms", ms(first.Sub(start)))
	}
	if err != nil {
		return handshakeFailure(r, env, e, err, ac)
	}
	cs := tc.ConnectionState()
	r.SetDetail("tls_version", tls.VersionName(cs.Version))
	r.SetDetail("cipher", tls.CipherSuiteName(cs.CipherSuite))
	if cs.NegotiatedProtocol != "" {
		r.SetDetail("alpn", cs.NegotiatedProtocol)
	}
	if len(cs.PeerCertificates) == 0 {
		r.Status, r.Phase = Fail, result.PhaseVerify
		r.Reason = fmt.Sprintf("the server at %s sent no certificate", d.Addr)
		r.Remedy = RemedyHTTPS(env.Cfg, e)
		return r
	}
	leaf := cs.PeerCertificates[0]
	issuer := certIssuer(leaf)
	r.SetDetail("issuer", issuer)
	r.SetDetail("subject", leaf.Subject.CommonName)
	r.SetDetail("not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	r = verifyChain(r, env, e, cs, issuer)
	if took > tlsSlow {
		slowHandshake(&r, env, e, took)
	}
	return r
}

// slowHandshake marks a handshake that completed but took longer than
// tlsSlow: a warning with its time when nothing worse was found, else a
// note on the finding.
func slowHandshake(r *Result, env *Env, e catalog.Endpoint, took time.Duration) {
	secs := fmt.Sprintf("%.1fs", took.Seconds())
	r.SetDetail("slow_handshake", secs)
	if r.Status != Pass {
		r.Reason += " (the handshake also took " + secs + ")"
		return
	}
	via := ""
	if p := r.Details["proxy"]; p != "" {
		via = " through the proxy " + p
	}
	r.Status, r.Phase = Warn, result.PhaseTLS
	r.Reason = fmt.Sprintf("TLS with %s%s completed, but the handshake took %s (a healthy one takes well under %v): something in the path holds it, such as a TLS-inspecting proxy making a certificate for each name; every connection the CCP opens waits this long, and it gives up on its signaling connection after 10 s", e.Host, via, secs, tlsSlow)
	r.Remedy = fmt.Sprintf("exempt %s from TLS inspection on the proxy or firewall, or find what delays the handshake; %s", e.Host, RemedyHTTPS(env.Cfg, e))
}

// handshakeFailure describes a handshake that did not complete, from
// what the server sent (ac): nothing at all within tlsAnswerWait, a close
// or reset right after the name was sent, a TLS alert, or an answer that
// is not TLS (a captive portal's HTTP page, another service's banner).
// The Go error stays in Details.
func handshakeFailure(r Result, env *Env, e catalog.Endpoint, err error, ac *answerConn) Result {
	r.Status, r.Phase = Fail, result.PhaseTLS
	r.SetDetail("error", err.Error())
	k := Classify(err)
	via := ""
	if p := r.Details["proxy"]; p != "" {
		via = " through the proxy " + p
	}
	first, head := ac.answer()
	if k == KindCancelled {
		r.Status, r.Phase, r.Reason = Skip, "", "cancelled before the TLS handshake finished (interrupted)"
		return r
	}
	if len(head) > 0 && !looksTLS(head) {
		ac.readMore(500 * time.Millisecond)
		_, head = ac.answer()
		return notTLSAnswer(r, env, e, via, head)
	}
	inspect := "if a proxy or firewall inspects TLS, exempt " + e.Host + " from inspection; else " + RemedyHTTPS(env.Cfg, e)
	switch {
	case first.IsZero() && k == KindTimeout:
		r.Reason = fmt.Sprintf("TCP to %s opened%s, but nothing answered the TLS handshake within %v (the CCP gives up on its connection after 10 s): something accepts connections on port %d and holds them without speaking TLS, such as a captive portal or a filtering proxy", e.Addr(), via, tlsAnswerWait, e.Port)
		r.Remedy = "if a captive portal or web filter holds the connection, sign in to it or " + RemedyHTTPS(env.Cfg, e) + " in that filter"
	case k == KindReset:
		r.Reason = fmt.Sprintf("the connection to %s%s was reset during the TLS handshake, after the name %s was sent (SNI): a firewall or IPS filtering by domain name", e.Addr(), via, e.Host)
		r.Remedy = RemedyHTTPS(env.Cfg, e) + " in the firewall's domain (SNI/URL) filter"
	case first.IsZero() && closedEarly(err):
		r.Reason = fmt.Sprintf("the server at %s%s closed the connection without a word after the TLS handshake named %s (SNI): a firewall or proxy filtering by domain name", e.Addr(), via, e.Host)
		r.Remedy = RemedyHTTPS(env.Cfg, e) + " in the firewall's or proxy's domain (SNI/URL) filter"
	case k == KindTimeout:
		r.Reason = fmt.Sprintf("the TLS handshake with %s%s began (first answer after %.1fs) but did not finish within %v: the path stalls mid-handshake (a proxy or a link dropping large packets)", e.Addr(), via, r.Metrics["first_answer_ms"]/1000, tlsAnswerWait)
		r.Remedy = inspect
	case alertOf(err) != "":
		r.Reason = fmt.Sprintf("the server at %s%s refused the TLS handshake for %s (TLS alert: %s): it is not the AWS endpoint, or a proxy or firewall in the path rejects this connection", e.Addr(), via, e.Host, alertOf(err))
		r.Remedy = inspect
	default:
		r.Reason = fmt.Sprintf("the TLS handshake with %s%s failed: the server's answer was not a TLS handshake this computer could complete (%s)", e.Addr(), via, plainErr(err))
		rawError(&r, err)
		r.Remedy = inspect
	}
	return r
}

// notTLSAnswer describes a server that answered the TLS ClientHello with
// something else: HTTP (a captive portal: quoted status line, the host its
// Location points to) or another protocol's banner or bytes.
func notTLSAnswer(r Result, env *Env, e catalog.Endpoint, via string, head []byte) Result {
	what, location, isHTTP := nonTLS(head)
	r.SetDetail("answer", what)
	if location != "" {
		r.SetDetail("location_host", location)
	}
	switch {
	case isHTTP && location != "":
		r.Reason = fmt.Sprintf("a plain HTTP server answered on port %d of %s%s instead of TLS: %s, redirecting to %s: a captive portal (sign-in page) or a web filter intercepts the connection to %s", e.Port, e.Addr(), via, what, location, e.Host)
		r.Remedy = fmt.Sprintf("sign in to the network's portal (open http://%s/ in a browser), then run the check again; if this network has no portal, find the device answering for %s (a web filter or transparent proxy) and %s there", location, e.Host, RemedyHTTPS(env.Cfg, e))
	case isHTTP:
		r.Reason = fmt.Sprintf("a plain HTTP server answered on port %d of %s%s instead of TLS: %s: a captive portal, web filter or transparent proxy answers in AWS's place", e.Port, e.Addr(), via, what)
		r.Remedy = fmt.Sprintf("sign in to the network's portal if it has one (open any http:// page in a browser); else find the device answering for %s and %s there", e.Host, RemedyHTTPS(env.Cfg, e))
	default:
		r.Reason = fmt.Sprintf("something that is not a TLS server answered on port %d of %s%s: %s: the name leads to another service, or a device in the path answers in AWS's place", e.Port, e.Addr(), via, what)
		r.Remedy = fmt.Sprintf("check what %s resolves to (see dns.resolve and ranges.membership) and what answers there; %s", e.Host, RemedyHTTPS(env.Cfg, e))
	}
	return r
}

// closedEarly reports whether err is the server closing the connection
// (EOF) rather than a timeout or a reset.
func closedEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// alertOf returns the TLS alert the server sent, in words ("handshake
// failure", "protocol version"), or "".
func alertOf(err error) string {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	if s := err.Error(); strings.Contains(s, "remote error: tls: ") {
		return s[strings.Index(s, "remote error: tls: ")+len("remote error: tls: "):]
	}
	return ""
}

// plainErr is a Go TLS error without its package prefixes.
func plainErr(err error) string {
	s := err.Error()
	for _, p := range []string{"remote error: ", "tls: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

// verifyChain checks the presented chain against the roots in use and
// flags interception.
func verifyChain(r Result, env *Env, e catalog.Endpoint, cs tls.ConnectionState, issuer string) Result {
	cfg := env.Cfg
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{DNSName: e.Host, Intermediates: inter, Roots: cfg.Roots, CurrentTime: env.now()}
	chains, err := leaf.Verify(opts)
	if err != nil {
		r.Status, r.Phase = Fail, result.PhaseVerify
		var (
			ua  x509.UnknownAuthorityError
			he  x509.HostnameError
			cie x509.CertificateInvalidError
		)
		switch {
		case errors.As(err, &ua):
			top := cs.PeerCertificates[len(cs.PeerCertificates)-1]
			r.SetDetail("chain_top_issuer", certIssuer(top))
			r.Reason = fmt.Sprintf("the certificate for %s was issued by %s, which this computer does not trust: likely TLS inspection by a proxy or security product in the path", e.Host, issuer)
			r.Remedy = fmt.Sprintf("exempt %s from TLS inspection on the proxy or firewall whose CA is %s; or, if the inspection is intended, add that CA to the trusted roots (the system store for browsers, ca_files in --config for this tool)", e.Host, issuer)
		case errors.As(err, &he):
			r.Reason = fmt.Sprintf("the certificate presented for %s (issued by %s) names %s, not %s: something else answers in its place (a captive portal, proxy or DNS redirect)", e.Host, issuer, certNames(leaf), e.Host)
			r.Remedy = fmt.Sprintf("find what answers at %s for %s (see dns.resolve and ranges.membership); %s", r.Address, e.Host, RemedyHTTPS(cfg, e))
		case errors.As(err, &cie) && cie.Reason == x509.Expired:
			r.Reason = fmt.Sprintf("the certificate for %s (issued by %s) is not valid now: valid %s to %s, and this computer's clock says %s", e.Host, issuer,
				leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly), env.now().UTC().Format(time.DateOnly))
			r.Remedy = "set this computer's clock right (see env.clock); if the clock is right, the proxy or firewall inspecting TLS serves a stale certificate: exempt " + e.Host + " from inspection"
		default:
			r.Reason = fmt.Sprintf("the certificate for %s (issued by %s) does not verify%s", e.Host, issuer, seeDetails)
			rawError(&r, err)
			r.Remedy = "exempt " + e.Host + " from TLS inspection on the proxy or firewall, if one inspects"
		}
		return r
	}
	r.Status = Pass
	r.Reason = fmt.Sprintf("%s with %s; certificate issued by %s, verified", tls.VersionName(cs.Version), e.Host, issuer)
	if len(chains) > 0 {
		root := chains[0][len(chains[0])-1]
		r.SetDetail("root", certSubject(root))
	}
	switch {
	case cfg.Lab:
		// The lab's own CA is expected.
	case cfg.Roots != nil && !verifiesWithSystem(leaf, opts):
		r.Status, r.Phase = Warn, result.PhaseVerify
		r.Reason = fmt.Sprintf("the certificate for %s was issued by %s and is trusted only through a CA added with ca_files: TLS inspection is in the path", e.Host, issuer)
		r.Remedy = fmt.Sprintf("if calls drop or the CCP disconnects, exempt %s from TLS inspection (inspected WebSockets are a common cause)", e.Host)
	case isAWSName(e.Host) && !issuedBy(chains, awsIssuers):
		r.Status, r.Phase = Warn, result.PhaseVerify
		r.Reason = fmt.Sprintf("the certificate for %s was issued by %s, not by a CA AWS uses (Amazon, DigiCert, Starfield): likely TLS inspection with its CA installed on this computer", e.Host, issuer)
		r.Remedy = fmt.Sprintf("if calls drop or the CCP disconnects, exempt %s from TLS inspection on the proxy or firewall whose CA is %s", e.Host, issuer)
	case cs.Version < tls.VersionTLS12:
		r.Status, r.Phase = Warn, result.PhaseTLS
		r.Reason = fmt.Sprintf("%s negotiated %s, older than the TLS 1.2 AWS endpoints require: something in the path downgrades it", e.Host, tls.VersionName(cs.Version))
		r.Remedy = "let TLS 1.2 or 1.3 through to " + e.Host + " (a proxy or firewall re-encrypting with old TLS)"
	}
	return r
}

func verifiesWithSystem(leaf *x509.Certificate, opts x509.VerifyOptions) bool {
	sys, err := x509.SystemCertPool()
	if err != nil || sys == nil {
		return false
	}
	opts.Roots = sys
	_, err = leaf.Verify(opts)
	return err == nil
}

func isAWSName(host string) bool {
	for _, s := range awsSuffixes {
		if strings.HasSuffix(strings.ToLower(host), s) {
			return true
		}
	}
	return false
}

// issuedBy reports whether any verified chain has a CA whose organisation
// contains one of orgs.
func issuedBy(chains [][]*x509.Certificate, orgs []string) bool {
	for _, ch := range chains {
		for _, c := range ch[1:] {
			for _, o := range c.Subject.Organization {
				for _, want := range orgs {
					if strings.Contains(o, want) {
						return true
					}
				}
			}
		}
	}
	return false
}

// certIssuer names a certificate's issuer in quotes: "CN" (Org).
func certIssuer(c *x509.Certificate) string {
	return nameOf(c.Issuer.CommonName, c.Issuer.Organization)
}

func certSubject(c *x509.Certificate) string {
	return nameOf(c.Subject.CommonName, c.Subject.Organization)
}

func nameOf(cn string, org []string) string {
	s := fmt.Sprintf("%q", cn)
	if cn == "" && len(org) > 0 {
		return fmt.Sprintf("%q", org[0])
	}
	if len(org) > 0 && org[0] != cn {
		s += " (" + org[0] + ")"
	}
	return s
}

// certNames lists the names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	names := c.DNSNames
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = []string{c.Subject.CommonName}
	}
	if len(names) > 4 {
		names = append(names[:4:4], "…")
	}
	if len(names) == 0 {
		return "no name"
	}
	return strings.Join(names, ", ")
}
