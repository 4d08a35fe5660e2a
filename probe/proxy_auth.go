package probe

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/Azure/go-ntlmssp"
	"github.com/ccp-preflight/ccp-preflight/config"
	xproxy "golang.org/x/net/proxy"
)

// The CONNECT exchange with a proxy, authenticating as browsers do: Basic,
// NTLM and Negotiate. NTLM and Negotiate authenticate the connection, not
// the request: every leg goes over the same TCP connection.

const (
	// maxConnectAnswer bounds what a proxy may send in answer to one
	// CONNECT (status line, headers, and a 407's body, which is drained to
	// keep the connection for the next leg): a proxy's error page is a few
	// KiB; a proxy sending without end must not hold the check.
	maxConnectAnswer = 64 << 10
	// maxAuthLegs bounds the authentication exchange: NTLM needs three
	// CONNECTs (none, negotiate, authenticate); Negotiate (Kerberos) one or
	// two.
	maxAuthLegs = 4
)

// tunnelFailure is a proxy's refusal to tunnel, in plain words.
type tunnelFailure struct {
	// Status is the proxy's last HTTP status (0 when it did not answer).
	Status     int
	StatusText string
	// Offered are the authentication schemes the proxy offered (407).
	Offered []string
	// Tried is the scheme that was tried and rejected ("" when none).
	Tried string
	// Why says why no scheme was tried (no credentials, unsupported).
	Why string
	// Err is a transport error (no answer, a reset).
	Err error
}

// authenticator makes one scheme's Proxy-Authorization values.
type authenticator interface {
	// Scheme is the scheme's name as the proxy offers it ("NTLM").
	Scheme() string
	// Next returns the next token (base64, without the scheme) given the
	// proxy's challenge token (nil on the first leg); done reports that
	// no further leg is expected.
	Next(challenge []byte) (token string, done bool, err error)
}

// connectTunnel asks the proxy on conn to tunnel to target (host:port),
// answering its 407 challenges with creds as a browser does. redial opens
// a new connection to the proxy when it closed the one it challenged on.
// It returns the tunnel, or a failure (conn is then closed).
func connectTunnel(ctx context.Context, conn net.Conn, redial func() (net.Conn, error), proxy *url.URL, target string,
	creds config.ProxyCredentials, preemptive bool) (net.Conn, *tunnelFailure) {
	var auth authenticator
	header := ""
	if preemptive && creds.Given() {
		auth = &basicAuth{creds: creds}
		tok, _, _ := auth.Next(nil)
		header = "Basic " + tok
	}
	var offered []string
	for leg := 0; ; leg++ {
		resp, tunnel, err := connectOnce(ctx, conn, target, header)
		if err != nil {
			conn.Close()
			return nil, &tunnelFailure{Err: err, Offered: offered, Tried: schemeOf(auth)}
		}
		if resp.StatusCode == http.StatusOK {
			return tunnel, nil
		}
		fail := &tunnelFailure{Status: resp.StatusCode, StatusText: resp.Status, Tried: schemeOf(auth)}
		if resp.StatusCode != http.StatusProxyAuthRequired {
			conn.Close()
			return nil, fail
		}
		challenges := parseChallenges(resp.Header.Values("Proxy-Authenticate"))
		offered = challengeNames(challenges)
		fail.Offered = offered
		if leg >= maxAuthLegs {
			conn.Close()
			return nil, fail
		}
		var challenge []byte
		if auth == nil {
			a, why := chooseAuth(offered, creds, proxy.Hostname())
			if a == nil {
				conn.Close()
				fail.Why = why
				return nil, fail
			}
			auth = a
		} else {
			tok, ok := challenges[strings.ToLower(auth.Scheme())]
			if !ok || tok == "" || header == "" {
				conn.Close()
				return nil, fail // the scheme was answered with a fresh 407: rejected
			}
			if challenge, err = base64.StdEncoding.DecodeString(tok); err != nil {
				conn.Close()
				fail.Err = fmt.Errorf("the proxy's %s challenge is not base64", auth.Scheme())
				return nil, fail
			}
		}
		tok, _, err := auth.Next(challenge)
		if err != nil {
			conn.Close()
			fail.Err = fmt.Errorf("%s could not answer the proxy's challenge: %v", auth.Scheme(), err)
			return nil, fail
		}
		header = auth.Scheme() + " " + tok
		if resp.Close {
			if challenge != nil { // NTLM/Negotiate authenticate the connection
				conn.Close()
				fail.Err = fmt.Errorf("the proxy closed the connection in the middle of %s authentication", auth.Scheme())
				return nil, fail
			}
			conn.Close()
			if conn, err = redial(); err != nil {
				return nil, &tunnelFailure{Err: err, Offered: offered, Tried: auth.Scheme()}
			}
		}
	}
}

func schemeOf(a authenticator) string {
	if a == nil {
		return ""
	}
	return a.Scheme()
}

// connectOnce sends one CONNECT (with Proxy-Authorization when header is
// set) and reads the answer, bounded by maxConnectAnswer and by conn's
// deadline. On 200 it returns the tunnel (with any bytes read past the
// answer); otherwise the answer's body has been drained.
func connectOnce(ctx context.Context, conn net.Conn, target, header string) (*http.Response, net.Conn, error) {
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target,
		Header: http.Header{"User-Agent": {"ccp-preflight"}}}
	if header != "" {
		req.Header.Set("Proxy-Authorization", header)
		req.Header.Set("Proxy-Connection", "keep-alive")
	}
	_ = conn.SetDeadline(connectDeadline(ctx))
	if err := req.Write(conn); err != nil {
		return nil, nil, err
	}
	resp, br, err := readProxyAnswer(conn, req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			return resp, &prefixConn{Conn: conn, buf: slices.Clone(b)}, nil
		}
		return resp, conn, nil
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		resp.Close = true
	}
	resp.Body.Close()
	if br.Buffered() > 0 {
		resp.Close = true // bytes past the answer: the connection is not reusable
	}
	return resp, nil, nil
}

// prefixConn is a Conn whose first bytes were already read into buf.
type prefixConn struct {
	net.Conn
	buf []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// parseChallenges reads Proxy-Authenticate values into scheme (lower
// case) → token ("" for a bare scheme or one with parameters, as Basic
// realm="…").
func parseChallenges(values []string) map[string]string {
	out := map[string]string{}
	for _, v := range values {
		// A value may hold several challenges separated by commas, and
		// parameters (realm="a, b") hold commas too: split outside quotes,
		// and a part that is "name=value" is a parameter, not a scheme.
		for _, part := range splitOutsideQuotes(v) {
			part = strings.TrimSpace(part)
			scheme, rest, _ := strings.Cut(part, " ")
			if scheme == "" || strings.ContainsAny(scheme, "=\"") || len(scheme) > 32 {
				continue
			}
			tok := strings.TrimSpace(rest)
			if strings.ContainsAny(strings.TrimRight(tok, "="), "=\" ") {
				tok = "" // parameters (realm="…"), not a token
			}
			key := strings.ToLower(scheme)
			if _, seen := out[key]; !seen || tok != "" {
				out[key] = tok
			}
		}
	}
	return out
}

// splitOutsideQuotes splits s at commas that are not inside double quotes.
func splitOutsideQuotes(s string) []string {
	var out []string
	inQ, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQ = !inQ
		case ',':
			if !inQ {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// challengeNames lists the offered schemes in a stable, readable order.
func challengeNames(ch map[string]string) []string {
	names := map[string]string{"negotiate": "Negotiate", "ntlm": "NTLM", "basic": "Basic", "digest": "Digest", "kerberos": "Kerberos"}
	var out []string
	for _, k := range []string{"negotiate", "ntlm", "kerberos", "digest", "basic"} {
		if _, ok := ch[k]; ok {
			out = append(out, names[k])
		}
	}
	var other []string
	for k := range ch {
		if _, ok := names[k]; !ok {
			other = append(other, k)
		}
	}
	slices.Sort(other)
	return append(out, other...)
}

// sspiAuthenticator, when set (Windows), authenticates with the logged-in
// user's credentials (or the given ones) through SSPI, for "Negotiate"
// (Kerberos or NTLM) and "NTLM": the browser's single sign-on.
var sspiAuthenticator func(scheme, proxyHost string, creds config.ProxyCredentials) authenticator

// chooseAuth picks the scheme a browser would use among those offered, or
// says why none can be used. On Windows, Negotiate and NTLM use the
// logged-in user (SSPI), as Edge and Chrome do; elsewhere NTLM (also
// inside Negotiate) and Basic need credentials from a file or the
// environment.
func chooseAuth(offered []string, creds config.ProxyCredentials, proxyHost string) (authenticator, string) {
	has := func(s string) bool { return slices.Contains(offered, s) }
	if sspiAuthenticator != nil {
		for _, s := range []string{"Negotiate", "NTLM"} {
			if has(s) {
				if a := sspiAuthenticator(s, proxyHost, creds); a != nil {
					return a, ""
				}
			}
		}
	}
	if creds.Given() {
		switch {
		case has("NTLM"):
			return &ntlmAuth{scheme: "NTLM", creds: creds}, ""
		case has("Negotiate"):
			return &ntlmAuth{scheme: "Negotiate", creds: creds}, ""
		case has("Basic"):
			return &basicAuth{creds: creds}, ""
		}
	}
	switch {
	case len(offered) == 0:
		return nil, "it named no authentication scheme"
	case !creds.Given() && (has("NTLM") || has("Negotiate") || has("Basic")):
		return nil, "no proxy credentials were given to this tool"
	case has("Negotiate") && runtime.GOOS != "windows":
		return nil, "Negotiate (Kerberos) is available to this tool only on Windows"
	}
	return nil, "this tool does not speak " + strings.Join(offered, " or ")
}

// basicAuth is RFC 7617 Basic: user:password in one leg.
type basicAuth struct{ creds config.ProxyCredentials }

func (*basicAuth) Scheme() string { return "Basic" }

func (a *basicAuth) Next([]byte) (string, bool, error) {
	return base64.StdEncoding.EncodeToString([]byte(a.creds.Username.Reveal() + ":" + a.creds.Password.Reveal())), true, nil
}

// ntlmAuth is NTLMv2 (MS-NLMP) with a user name and password, through
// github.com/Azure/go-ntlmssp: a NEGOTIATE message, then an AUTHENTICATE
// message answering the proxy's CHALLENGE. scheme is "NTLM", or
// "Negotiate" for a proxy whose Negotiate accepts NTLM tokens.
type ntlmAuth struct {
	scheme string
	creds  config.ProxyCredentials
	sent   bool
}

func (a *ntlmAuth) Scheme() string { return a.scheme }

func (a *ntlmAuth) Next(challenge []byte) (string, bool, error) {
	if challenge == nil {
		if a.sent {
			return "", true, errors.New("the proxy did not send a challenge")
		}
		a.sent = true
		m, err := ntlmssp.NewNegotiateMessage("", "")
		return base64.StdEncoding.EncodeToString(m), false, err
	}
	m, err := ntlmssp.NewAuthenticateMessage(tidyChallenge(challenge), a.creds.Username.Reveal(), a.creds.Password.Reveal(), nil)
	if err != nil {
		return "", true, err
	}
	return base64.StdEncoding.EncodeToString(m), true, nil
}

// tidyChallenge returns a copy of an NTLM CHALLENGE message whose
// fields that point outside the message are emptied: the target name
// (which NTLMv2 does not use) and the target info (then answered as a
// server without it, with the TARGET_INFO flag cleared). Some proxies'
// helpers send such fields (squid's ntlm_fake_auth sends a garbage target
// name offset and no target info); a browser answers them all the same.
// A message too short for its fixed fields is returned unchanged, for the
// NTLM library to refuse.
func tidyChallenge(b []byte) []byte {
	const (
		targetName     = 12 // security buffer: len, max len (2 bytes each), offset (4)
		flags          = 20
		targetInfo     = 40
		fixedWithInfo  = 48
		flagTargetInfo = 0x00800000
	)
	if len(b) < 32 {
		return b
	}
	c := slices.Clone(b)
	inside := func(at int) bool {
		l := int(c[at]) | int(c[at+1])<<8
		off := uint64(c[at+4]) | uint64(c[at+5])<<8 | uint64(c[at+6])<<16 | uint64(c[at+7])<<24
		return l == 0 || off+uint64(l) <= uint64(len(c))
	}
	if !inside(targetName) {
		clear(c[targetName : targetName+8])
	}
	if len(c) < fixedWithInfo || !inside(targetInfo) {
		if len(c) >= fixedWithInfo {
			clear(c[targetInfo : targetInfo+8])
		} else {
			c = append(c, make([]byte, fixedWithInfo-len(c))...)
		}
		f := uint32(c[flags]) | uint32(c[flags+1])<<8 | uint32(c[flags+2])<<16 | uint32(c[flags+3])<<24
		f &^= flagTargetInfo
		c[flags], c[flags+1], c[flags+2], c[flags+3] = byte(f), byte(f>>8), byte(f>>16), byte(f>>24)
	}
	return c
}

// authDescription says in words which credentials a scheme used (never
// the user name or password).
func authDescription(scheme string, creds config.ProxyCredentials) string {
	if sspiAuthenticator != nil && (scheme == "Negotiate" || scheme == "NTLM") && !creds.Given() {
		return scheme + " as the logged-in Windows user"
	}
	if creds.From != "" {
		return scheme + " with the credentials from " + creds.From
	}
	return scheme
}

// connectDeadline is when one CONNECT leg must be answered:
// proxyConnectTimeout from now, within ctx.
func connectDeadline(ctx context.Context) time.Time {
	dl := time.Now().Add(proxyConnectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	return dl
}

// plainNetError says a proxy conversation's failure in plain words (the
// raw error stays in the wrapped error for Details).
func plainNetError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the proxy closed the connection without answering"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer before the timeout"
	case Classify(err) == KindReset:
		return "the connection was reset"
	case Classify(err) == KindRefused:
		return "the connection was refused"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// socks5Tunnel opens target (host:port, resolved by the proxy as a
// browser lets it) through the SOCKS5 proxy on conn, with the proxy
// credentials (RFC 1929) when given. conn's deadline bounds it.
func socks5Tunnel(ctx context.Context, conn net.Conn, target string, creds config.ProxyCredentials) (net.Conn, error) {
	var auth *xproxy.Auth
	if creds.Given() {
		auth = &xproxy.Auth{User: creds.Username.Reveal(), Password: creds.Password.Reveal()}
	}
	used := false
	d, err := xproxy.SOCKS5("tcp", conn.RemoteAddr().String(), auth, dialerFunc(func(string, string) (net.Conn, error) {
		if used {
			return nil, errors.New("the SOCKS5 connection was used already")
		}
		used = true
		return conn, nil
	}))
	if err != nil {
		return nil, err
	}
	if cd, ok := d.(xproxy.ContextDialer); ok {
		return cd.DialContext(ctx, "tcp", target)
	}
	return d.Dial("tcp", target)
}

// dialerFunc is an xproxy.Dialer that hands over an open connection.
type dialerFunc func(network, addr string) (net.Conn, error)

func (f dialerFunc) Dial(network, addr string) (net.Conn, error) { return f(network, addr) }

var errNoContext = errors.New("the proxy answered before authentication began")

// errProxyAnswerTooLarge is a proxy answer over maxConnectAnswer.
var errProxyAnswerTooLarge = errors.New("the answer's status line and headers exceed 64 KiB")

// readProxyAnswer reads the proxy's answer to the CONNECT req from conn,
// at most maxConnectAnswer bytes of status line, headers and (on a refusal)
// body (errProxyAnswerTooLarge beyond), like http.Transport bounds the same
// read. On a 200 the returned reader goes on reading the tunnel from conn
// without a limit (it may hold the tunnel's first bytes already).
func readProxyAnswer(conn io.Reader, req *http.Request) (*http.Response, *bufio.Reader, error) {
	lr := &io.LimitedReader{R: conn, N: maxConnectAnswer}
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
