package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/catalog"
)

const (
	// handshakeTimeout bounds the TLS handshake after TCP is open: two
	// round trips plus the server's signature; an inspecting proxy that
	// must first connect upstream still answers well inside it.
	handshakeTimeout = 1500 * time.Millisecond
	// tlsBudget bounds tls.handshake for one endpoint: TCP as in tcp.connect,
	// then the handshake.
	tlsBudget = tcpBudget + handshakeTimeout
)

// tlsHandshake proves TLS to each HTTPS endpoint with SNI, and that the
// certificate chains to a trusted root (system roots plus ca_files) and
// names the host. An untrusted issuer, or a trusted one AWS does not use,
// is reported as likely TLS inspection, naming the issuer.
var tlsHandshake = Probe{
	Kind:    result.Kind{ID: "tls.handshake", Layer: result.LayerWeb, DependsOn: []string{"tcp.connect"}, Causes: tlsCauses},
	Budget:  capped(tlsBudget),
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

	tc := tls.Client(d.Conn, &tls.Config{
		ServerName: e.Host,
		NextProtos: []string{"h2", "http/1.1"},
		// The chain is verified below, by hand, so that an untrusted one
		// can still be described (who issued it) instead of only refused.
		InsecureSkipVerify: true, //nolint:gosec // verified in verifyChain
	})
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	start := time.Now()
	err := tc.HandshakeContext(hctx)
	cancel()
	r.SetMetric("handshake_ms", ms(time.Since(start)))
	if err != nil {
		return handshakeFailure(r, env, e, err)
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
	return verifyChain(r, env, e, cs, issuer)
}

// handshakeFailure describes a handshake that did not complete.
func handshakeFailure(r Result, env *Env, e catalog.Endpoint, err error) Result {
	r.Status, r.Phase = Fail, result.PhaseTLS
	k := Classify(err)
	via := ""
	if p := r.Details["proxy"]; p != "" {
		via = " through the proxy " + p
	}
	switch k {
	case KindTimeout:
		r.Reason = fmt.Sprintf("TCP to %s opened%s but no TLS answer came within %v: something accepts the connection but does not speak TLS (a captive portal or a filtering proxy)", e.Addr(), via, handshakeTimeout)
		r.Remedy = "if a captive portal or web filter holds the connection, sign in to it or " + RemedyHTTPS(env.Cfg, e) + " in that filter"
	case KindReset:
		r.Reason = fmt.Sprintf("the connection to %s%s was reset during the TLS handshake, after the name %s was sent (SNI): a firewall or IPS filtering by domain name", e.Addr(), via, e.Host)
		r.Remedy = RemedyHTTPS(env.Cfg, e) + " in the firewall's domain (SNI/URL) filter"
	case KindCancelled:
		r.Status, r.Reason = Skip, "cancelled before the TLS handshake finished (interrupted)"
	default:
		r.Reason = fmt.Sprintf("TLS handshake with %s%s failed, not by a time-out or a reset%s", e.Addr(), via, seeDetails)
		rawError(&r, err)
		r.Remedy = "if a proxy or firewall inspects TLS, exempt " + e.Host + " from inspection; else " + RemedyHTTPS(env.Cfg, e)
	}
	return r
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
