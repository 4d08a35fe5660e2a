package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
	"golang.org/x/net/http/httpproxy"
)

// Dial time limits, inside the probe budgets (see TestBudgetsFit).
const (
	// connectTimeout bounds TCP connection set-up (to the endpoint or to the
	// proxy): a healthy path opens in one round trip (< 400 ms anywhere on
	// Earth), and one lost SYN is retransmitted after 1 s, still inside;
	// a SYN dropped silently would otherwise wait the kernel's ~2 minutes.
	connectTimeout = 1500 * time.Millisecond
	// proxyConnectTimeout bounds the proxy's answer to CONNECT: the proxy
	// resolves and connects to the endpoint itself first.
	proxyConnectTimeout = 1500 * time.Millisecond
)

// maxProxyAnswer bounds the proxy's answer to CONNECT (status line and
// headers): a real one is a few hundred bytes; http.Transport bounds the
// same read (at 10 MiB). Without it an endless status line or header
// block grows memory for as long as proxyConnectTimeout lets it.
const maxProxyAnswer = 64 << 10

// errProxyAnswerTooLarge is a proxy answer over maxProxyAnswer.
var errProxyAnswerTooLarge = errors.New("the answer's status line and headers exceed 64 KiB")

// readProxyAnswer reads the proxy's answer to the CONNECT req from conn,
// at most maxProxyAnswer bytes of it (errProxyAnswerTooLarge beyond). On a
// 200 the returned reader goes on reading the tunnel from conn without a
// limit (it may hold the tunnel's first bytes already); on any other status
// the caller drops the connection without reading the body.
func readProxyAnswer(conn io.Reader, req *http.Request) (*http.Response, *bufio.Reader, error) {
	lr := &io.LimitedReader{R: conn, N: maxProxyAnswer}
	br := bufio.NewReader(lr)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if lr.N <= 0 {
			err = errProxyAnswerTooLarge
		}
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusOK {
		lr.N = math.MaxInt64
	}
	return resp, br, nil
}

// proxyChoice is the proxy a connection to an endpoint would use.
type proxyChoice struct {
	// URL is nil for a direct connection.
	URL *url.URL
	// Source says where the choice came from: "config", "HTTPS_PROXY",
	// "NO_PROXY" (a proxy is set but the host is exempt), "none", "lab".
	Source string
}

// String names the proxy without credentials ("direct" when none).
func (p proxyChoice) String() string {
	if p.URL == nil {
		return "direct"
	}
	return redactURL(p.URL)
}

// redactURL prints u without its password or user name.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// proxyFor returns the proxy the path to host:port would use: the
// configured proxy (cfg.Proxy), else HTTPS_PROXY/NO_PROXY from the
// environment (read at each call, as a browser's system settings would
// be). In lab mode (cfg.Lab) the environment is ignored: the lab's names
// exist only in the lab's DNS.
func proxyFor(cfg *config.Config, host string, port int) proxyChoice {
	if cfg.Proxy != nil {
		return proxyChoice{URL: cfg.Proxy, Source: "config"}
	}
	if cfg.Lab {
		return proxyChoice{Source: "lab"}
	}
	pc := httpproxy.FromEnvironment()
	u, err := pc.ProxyFunc()(&url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(port))})
	if err != nil || u == nil {
		if pc.HTTPSProxy != "" && pc.NoProxy != "" {
			return proxyChoice{Source: "NO_PROXY"}
		}
		return proxyChoice{Source: "none"}
	}
	return proxyChoice{URL: u, Source: "HTTPS_PROXY"}
}

// dialed is an open TCP connection to an endpoint (possibly a tunnel
// through a proxy) with the facts of how it was made.
type dialed struct {
	Conn  net.Conn
	Proxy proxyChoice
	// Addr is the address connected to: the endpoint's IP:port, or for a
	// proxy the proxy's address.
	Addr string
	// ConnectDur is the TCP set-up time (to the endpoint or the proxy);
	// TunnelDur the CONNECT exchange (zero without a proxy).
	ConnectDur, TunnelDur time.Duration
}

// dialError is a failed dial, already classified for a Result.
type dialError struct {
	Phase  string
	Kind   Kind
	Addr   string
	Reason string
	Remedy string
	// Skip marks a failure another check already reports (DNS): the
	// dependent check is skipped rather than failed twice.
	Skip bool
}

// result turns the failure into a Result.
func (d *dialError) result() Result {
	st := Fail
	if d.Skip {
		st = Skip
	}
	return Result{Status: st, Phase: d.Phase, Address: d.Addr, Reason: d.Reason, Remedy: d.Remedy}
}

// dialEndpoint opens TCP to e the way the CCP in a browser would: through
// the proxy that applies (HTTP CONNECT), or directly to the addresses the
// run's resolver gives (A first, then AAAA; the first that connects wins).
// Each step is bounded by its own time limit inside ctx.
func dialEndpoint(ctx context.Context, env *Env, e catalog.Endpoint) (*dialed, *dialError) {
	cfg := env.Cfg
	pc := proxyFor(cfg, e.Host, e.Port)
	if pc.URL != nil {
		return dialProxy(ctx, env, e, pc)
	}
	ans := env.DNS.Lookup(ctx, e.Host)
	if ans.Err != nil {
		return nil, &dialError{Phase: result.PhaseResolve, Skip: true,
			Reason: fmt.Sprintf("not tested: %s did not resolve (%s; see dns.resolve)", e.Host, ans.Kind)}
	}
	var (
		firstErr  error
		firstAddr string
	)
	// IPv4 first: AWS publishes Connect's ranges mostly for IPv4, and a
	// silently broken IPv6 path must not use up the budget before IPv4 is
	// tried.
	addrs := slices.Clone(ans.Addrs)
	slices.SortStableFunc(addrs, func(a, b netip.Addr) int {
		switch {
		case a.Is4() && !b.Is4():
			return -1
		case !a.Is4() && b.Is4():
			return 1
		}
		return 0
	})
	for _, a := range addrs {
		addr := netip.AddrPortFrom(a, uint16(e.Port)).String()
		start := time.Now()
		c, err := dialTCP(ctx, addr)
		if err == nil {
			return &dialed{Conn: c, Proxy: pc, Addr: addr, ConnectDur: time.Since(start)}, nil
		}
		if firstErr == nil {
			firstErr, firstAddr = err, addr
		}
		if ctx.Err() != nil {
			break
		}
	}
	k := Classify(firstErr)
	what := fmt.Sprintf("TCP %d to %s (%s)", e.Port, e.Host, firstAddr)
	return nil, &dialError{Phase: result.PhaseConnect, Kind: k, Addr: firstAddr,
		Reason: Explain(k, what), Remedy: connectRemedy(cfg, e, k)}
}

// dialTCP connects to addr within connectTimeout (and ctx).
func dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// connectRemedy is what to change after a failed TCP connect of kind k.
func connectRemedy(cfg *config.Config, e catalog.Endpoint, k Kind) string {
	rule := RemedyHTTPS(cfg, e)
	switch k {
	case KindPermission:
		return "a firewall on this computer blocks it: " + rule + " in the local firewall (or endpoint security product)"
	case KindUnreachable:
		return "give this computer a route to the internet (check the default gateway, VPN or whether only a proxy is allowed out; if so set HTTPS_PROXY), then " + rule
	case KindRefused:
		return rule + "; a firewall that rejects (sends a reset) rather than drops is the likely cause"
	}
	return rule
}

// dialProxy connects to the proxy and asks it to tunnel to e with CONNECT.
func dialProxy(ctx context.Context, env *Env, e catalog.Endpoint, pc proxyChoice) (*dialed, *dialError) {
	pu := pc.URL
	phost, pport := pu.Hostname(), pu.Port()
	if pport == "" {
		pport = "80"
		if pu.Scheme == "https" {
			pport = "443"
		}
	}
	pname := redactURL(pu)
	target := net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
	fixProxy := fmt.Sprintf("check the proxy %s (from %s) is right and reachable: allow outbound TCP %s to %s", pname, proxySource(pc), pport, phost)
	ans := env.DNS.Lookup(ctx, phost)
	if ans.Err != nil {
		return nil, &dialError{Phase: result.PhaseProxy, Kind: KindOther,
			Reason: fmt.Sprintf("the proxy's name %s did not resolve (%s: %v)", phost, ans.Kind, ans.Err), Remedy: fixProxy}
	}
	var (
		conn  net.Conn
		err   error
		addr  string
		start = time.Now()
	)
	for _, a := range ans.Addrs {
		p, _ := strconv.Atoi(pport)
		addr = netip.AddrPortFrom(a, uint16(p)).String()
		if conn, err = dialTCP(ctx, addr); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		k := Classify(err)
		return nil, &dialError{Phase: result.PhaseProxy, Kind: k, Addr: addr,
			Reason: Explain(k, fmt.Sprintf("TCP to the proxy %s (%s)", pname, addr)), Remedy: fixProxy}
	}
	connectDur := time.Since(start)
	if pu.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: phost, RootCAs: env.Cfg.Roots})
		hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, &dialError{Phase: result.PhaseProxy, Kind: Classify(err), Addr: addr,
				Reason: fmt.Sprintf("TLS to the proxy %s failed: %v", pname, err), Remedy: fixProxy}
		}
		conn = tc
	}
	tstart := time.Now()
	dl := time.Now().Add(proxyConnectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
	if u := pu.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	err = req.Write(conn)
	var (
		resp *http.Response
		br   *bufio.Reader
	)
	if err == nil {
		resp, br, err = readProxyAnswer(conn, req)
	}
	if err != nil {
		conn.Close()
		k := Classify(err)
		reason := fmt.Sprintf("the proxy %s did not answer CONNECT %s: %v", pname, target, err)
		switch {
		case errors.Is(err, errProxyAnswerTooLarge):
			reason = fmt.Sprintf("the proxy %s answered CONNECT %s with more than 64 KiB of status line and headers: not an HTTP proxy's answer (something else listens on the proxy's port, or the proxy is broken)", pname, target)
		case k == KindTimeout:
			reason = fmt.Sprintf("the proxy %s did not answer CONNECT %s before the timeout (it may be unable to reach %s itself)", pname, target, e.Host)
		}
		return nil, &dialError{Phase: result.PhaseProxy, Kind: k, Addr: addr, Reason: reason,
			Remedy: fmt.Sprintf("on the proxy %s, allow CONNECT to %s (%s)", pname, target, RemedyHTTPS(env.Cfg, e))}
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		reason := fmt.Sprintf("the proxy %s refused to tunnel to %s: HTTP %s", pname, target, clipText(resp.Status, 120))
		remedy := fmt.Sprintf("on the proxy %s, allow CONNECT to %s (%s)", pname, target, RemedyHTTPS(env.Cfg, e))
		if resp.StatusCode == http.StatusProxyAuthRequired {
			reason = fmt.Sprintf("the proxy %s asks for authentication (HTTP 407) before tunnelling to %s", pname, target)
			remedy = fmt.Sprintf("exempt %s from proxy authentication (browsers may pass it with single sign-on; this tool cannot), or put the proxy's user and password in the proxy URL", e.Host)
		}
		return nil, &dialError{Phase: result.PhaseProxy, Kind: KindRefused, Addr: addr, Reason: reason, Remedy: remedy}
	}
	resp.Body.Close() // a 200 to CONNECT has no body: the tunnel follows
	_ = conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		conn = &bufConn{Conn: conn, r: br}
	}
	return &dialed{Conn: conn, Proxy: pc, Addr: addr, ConnectDur: connectDur, TunnelDur: time.Since(tstart)}, nil
}

// clipText shortens s (text a server sent) to at most n bytes, on a rune
// boundary, marking the cut with "…".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func proxySource(pc proxyChoice) string {
	if pc.Source == "config" {
		return "the config file"
	}
	return "the HTTPS_PROXY environment variable"
}

// bufConn is a Conn whose first bytes were already read into r.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// withDeadline sets conn's deadline to ctx's and makes ctx's end unblock
// it; call the returned stop when done.
func withDeadline(ctx context.Context, conn net.Conn) (stop func() bool) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	return context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
}
