package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
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
	// Passed lists the earlier hops of the choice that could not be
	// reached (a browser tries the next proxy of a PAC's list then), as
	// "http://a:3128 could not be reached (refused)".
	Passed []string
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
	// unreachable marks a proxy that could not be reached at all (its name,
	// TCP or TLS): a browser then tries the choice's next hop.
	unreachable bool
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
// the proxies the browser's configuration chooses for e (Env.ProxyFor),
// in order, moving to the next only when one cannot be reached, as a
// browser does (HTTP CONNECT, authenticating when asked; SOCKS5), or
// directly to the addresses the run's resolver gives (A first, then AAAA;
// the first that connects wins). Each step is bounded by its own time
// limit inside ctx.
func dialEndpoint(ctx context.Context, env *Env, e catalog.Endpoint) (*dialed, *dialError) {
	pc := proxyFor(ctx, env, e)
	var passed []string
	for i, hop := range pc.Choice.Hops {
		var (
			d    *dialed
			derr *dialError
		)
		if hop.IsDirect() {
			pc.URL = nil
			d, derr = dialDirect(ctx, env, e, pc)
		} else {
			pc.URL = hop.Proxy
			d, derr = dialProxy(ctx, env, e, pc)
		}
		if derr == nil {
			d.Passed = passed
			return d, nil
		}
		if !derr.unreachable || i == len(pc.Choice.Hops)-1 || ctx.Err() != nil {
			if len(passed) > 0 {
				derr.Reason = fmt.Sprintf("%s (after: %s)", derr.Reason, strings.Join(passed, "; "))
			}
			return nil, derr
		}
		passed = append(passed, fmt.Sprintf("%s could not be reached (%s)", hop.String(), derr.Kind))
	}
	pc.URL = nil
	return dialDirect(ctx, env, e, pc) // an empty choice: DIRECT
}

// dialDirect opens TCP to e's addresses.
func dialDirect(ctx context.Context, env *Env, e catalog.Endpoint, pc proxyChoice) (*dialed, *dialError) {
	cfg := env.Cfg
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
		return "give this computer a route to the internet (check the default gateway, VPN or whether only a proxy is allowed out; if so, the browser's proxy settings or proxy: in --config), then " + rule
	case KindRefused:
		return rule + "; a firewall that rejects (sends a reset) rather than drops is the likely cause"
	}
	return rule
}

// dialProxy connects to the proxy pc.URL and asks it to tunnel to e: HTTP
// CONNECT (authenticating when the proxy asks, proxy_auth.go) for http://
// and https:// proxies, SOCKS5 for socks5://.
func dialProxy(ctx context.Context, env *Env, e catalog.Endpoint, pc proxyChoice) (*dialed, *dialError) {
	pu := pc.URL
	pname := pc.String()
	target := net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
	fixTunnel := fmt.Sprintf("on the proxy %s, allow CONNECT to %s (%s)", pname, target, RemedyHTTPS(env.Cfg, e))
	if pu.Scheme == "socks4" {
		return nil, &dialError{Phase: result.PhaseProxy, Kind: KindOther,
			Reason: fmt.Sprintf("the proxy %s (from %s) is SOCKS4, which this tool does not test", pname, pc.Source),
			Remedy: fmt.Sprintf("make sure %s passes TCP %d to %s, or test the path with proxy: http://… or socks5://… in --config", pname, e.Port, e.Host)}
	}
	start := time.Now()
	conn, addr, derr := openProxy(ctx, env, pc)
	if derr != nil {
		return nil, derr
	}
	connectDur := time.Since(start)
	creds, preemptive := proxyCredentials(env.Cfg, pu)
	tstart := time.Now()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if pu.Scheme == "socks5" {
		c, err := socks5Tunnel(ctx, conn, target, creds)
		if err != nil {
			conn.Close()
			return nil, &dialError{Phase: result.PhaseProxy, Kind: Classify(err), Addr: addr,
				Reason: fmt.Sprintf("the SOCKS5 proxy %s did not open %s: %s", pname, target, plainNetError(err)), Remedy: fixTunnel}
		}
		_ = c.SetDeadline(time.Time{})
		return &dialed{Conn: c, Proxy: pc, Addr: addr, ConnectDur: connectDur, TunnelDur: time.Since(tstart)}, nil
	}
	var extra []func() bool
	defer func() {
		for _, s := range extra {
			s()
		}
	}()
	redial := func() (net.Conn, error) {
		c, _, derr := openProxy(ctx, env, pc)
		if derr != nil {
			return nil, errors.New(derr.Reason)
		}
		extra = append(extra, context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) }))
		return c, nil
	}
	tunnel, tf := connectTunnel(ctx, conn, redial, pu, target, creds, preemptive)
	if tf != nil {
		return nil, tunnelError(env, e, pc, addr, target, tf, creds)
	}
	_ = tunnel.SetDeadline(time.Time{})
	return &dialed{Conn: tunnel, Proxy: pc, Addr: addr, ConnectDur: connectDur, TunnelDur: time.Since(tstart)}, nil
}

// openProxy opens TCP (and TLS, for an https:// proxy) to the proxy
// pc.URL. A failure is marked unreachable: a browser tries the next hop.
func openProxy(ctx context.Context, env *Env, pc proxyChoice) (net.Conn, string, *dialError) {
	pu := pc.URL
	phost, pport := pu.Hostname(), pu.Port()
	pname := pc.String()
	fixProxy := fmt.Sprintf("check the proxy %s (from %s) is right and reachable: allow outbound TCP %s to %s", pname, pc.Source, pport, phost)
	ans := env.DNS.Lookup(ctx, phost)
	if ans.Err != nil {
		return nil, "", &dialError{Phase: result.PhaseProxy, Kind: KindOther, unreachable: true,
			Reason: fmt.Sprintf("the proxy's name %s did not resolve (%s)", phost, ans.Kind), Remedy: fixProxy}
	}
	var (
		conn net.Conn
		err  error
		addr string
	)
	p, _ := strconv.Atoi(pport)
	for _, a := range ans.Addrs {
		addr = netip.AddrPortFrom(a, uint16(p)).String()
		if conn, err = dialTCP(ctx, addr); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		k := Classify(err)
		return nil, addr, &dialError{Phase: result.PhaseProxy, Kind: k, Addr: addr, unreachable: true,
			Reason: Explain(k, fmt.Sprintf("TCP to the proxy %s (%s)", pname, addr)), Remedy: fixProxy}
	}
	if pu.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: phost, RootCAs: env.Cfg.Roots})
		hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, addr, &dialError{Phase: result.PhaseProxy, Kind: Classify(err), Addr: addr, unreachable: true,
				Reason: fmt.Sprintf("TLS to the proxy %s failed: %v", pname, err), Remedy: fixProxy}
		}
		conn = tc
	}
	return conn, addr, nil
}

// tunnelError turns a refused or failed CONNECT into a dialError, naming
// the authentication schemes the proxy offered and the one that failed.
func tunnelError(env *Env, e catalog.Endpoint, pc proxyChoice, addr, target string, tf *tunnelFailure, creds config.ProxyCredentials) *dialError {
	pname := pc.String()
	d := &dialError{Phase: result.PhaseProxy, Kind: KindRefused, Addr: addr,
		Remedy: fmt.Sprintf("on the proxy %s, allow CONNECT to %s (%s)", pname, target, RemedyHTTPS(env.Cfg, e))}
	offers := ""
	if len(tf.Offered) > 0 {
		offers = "; it offers " + strings.Join(tf.Offered, ", ")
	}
	switch {
	case errors.Is(tf.Err, errProxyAnswerTooLarge):
		d.Reason = fmt.Sprintf("the proxy %s answered CONNECT %s with more than 64 KiB of status line and headers: not an HTTP proxy's answer (something else listens on the proxy's port, or the proxy is broken)", pname, target)
	case tf.Err != nil && tf.Status == 0:
		d.Kind = Classify(tf.Err)
		d.Reason = fmt.Sprintf("the proxy %s did not answer CONNECT %s: %s", pname, target, plainNetError(tf.Err))
		if d.Kind == KindTimeout {
			d.Reason = fmt.Sprintf("the proxy %s did not answer CONNECT %s before the timeout (it may be unable to reach %s itself)", pname, target, e.Host)
		}
	case tf.Err != nil:
		d.Reason = fmt.Sprintf("proxy authentication with %s failed: %v (HTTP %s%s)", pname, tf.Err, tf.StatusText, offers)
		d.Remedy = fmt.Sprintf("exempt %s from proxy authentication on %s, or check the proxy's %s set-up", e.Host, pname, tf.Tried)
	case tf.Status == http.StatusProxyAuthRequired && tf.Tried != "":
		d.Reason = fmt.Sprintf("the proxy %s rejected %s before tunnelling to %s (HTTP 407%s)", pname, authDescription(tf.Tried, creds), target, offers)
		d.Remedy = fmt.Sprintf("check the proxy user name and password (%s), or exempt %s from proxy authentication", orStr(creds.From, "the logged-in user"), e.Host)
	case tf.Status == http.StatusProxyAuthRequired:
		d.Reason = fmt.Sprintf("the proxy %s asks for authentication (HTTP 407%s) before tunnelling to %s, and %s", pname, offers, target, tf.Why)
		d.Remedy = fmt.Sprintf("exempt %s from proxy authentication (browsers may pass it with single sign-on)", e.Host)
		if strings.Contains(tf.Why, "no proxy credentials") {
			d.Remedy += fmt.Sprintf("; or, to test as a user, put the proxy's user name (DOMAIN\\user) and password in a file named by proxy_credentials_file in --config or by %s, or in %s and %s (never on the command line)",
				config.EnvProxyCredentialsFile, config.EnvProxyUser, config.EnvProxyPassword)
		}
	default:
		d.Reason = fmt.Sprintf("the proxy %s refused to tunnel to %s: HTTP %s", pname, target, tf.StatusText)
	}
	return d
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// withDeadline sets conn's deadline to ctx's and makes ctx's end unblock
// it; call the returned stop when done.
func withDeadline(ctx context.Context, conn net.Conn) (stop func() bool) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	return context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
}
