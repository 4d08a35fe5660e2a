package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

const rtcHost = "rtc.connect-telecom.us-east-1.amazonaws.com"

// noEnvProxy clears the proxy environment so only the test's choice applies.
func noEnvProxy(t *testing.T) {
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(k, "")
	}
}

// loopbackEnv is an Env whose resolver answers every name with 127.0.0.1.
func loopbackEnv(t *testing.T) *Env {
	t.Helper()
	noEnvProxy(t)
	s := startDNS(t, lab.DNSOptions{})
	return envFor(s.Addr)
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

func TestTCPConnectPasses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runProbe(t, tcpConnect, loopbackEnv(t), webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Pass, "", []string{"TCP", "opened to " + ln.Addr().String()}, nil)
	if r.Address != ln.Addr().String() {
		t.Errorf("address = %q", r.Address)
	}
}

func TestTCPConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(ln.Addr().String())
	ln.Close() // nothing listens there now: the kernel answers with a reset
	r := runProbe(t, tcpConnect, loopbackEnv(t), webEndpoint(rtcHost, port))
	wantResult(t, r, Fail, result.PhaseConnect, []string{"was refused", rtcHost}, []string{"allow outbound TCP " + strconv.Itoa(port) + " to " + rtcHost, "rejects"})
}

// fullBacklogListener returns a loopback address whose listen queue is
// full: further SYNs are dropped silently, the symptom of a firewall drop.
func fullBacklogListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skipf("raw socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for i := 0; i < 16; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			if i == 0 {
				t.Skipf("first connection to a fresh listener failed (%v): machine too loaded to tell", err)
			}
			return addr // the queue is full now
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill a listen backlog on this kernel: no silent TCP drop to test")
	return ""
}

func TestTCPConnectTimeout(t *testing.T) {
	addr := fullBacklogListener(t)
	env := loopbackEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	e := webEndpoint(rtcHost, portOf(addr))
	r := tcpConnect.Run(ctx, env, Target{Name: e.Addr(), Endpoint: e})
	wantResult(t, r, Fail, result.PhaseConnect, []string{"no answer from TCP", "silently drops"}, []string{"allow outbound TCP"})
}

func TestTCPConnectSkipsWhenDNSFails(t *testing.T) {
	noEnvProxy(t)
	s := startDNS(t, lab.DNSOptions{Mode: lab.DNSNXDomain})
	r := runProbe(t, tcpConnect, envFor(s.Addr), webEndpoint(rtcHost, 443))
	wantResult(t, r, Skip, result.PhaseResolve, []string{"did not resolve", "nxdomain"}, nil)
}

// startTLS starts a lab HTTPS server whose CA is named caName.
func startTLS(t *testing.T, caName string) (*lab.CA, *lab.HTTPSServer) {
	t.Helper()
	ca, err := lab.NewCA(caName)
	if err != nil {
		t.Fatal(err)
	}
	s, err := lab.StartHTTPS(ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return ca, s
}

func TestTLSUnknownIssuerIsInspection(t *testing.T) {
	_, s := startTLS(t, "Corp Proxy CA")
	other, err := lab.NewCA("the CA this computer trusts")
	if err != nil {
		t.Fatal(err)
	}
	env := loopbackEnv(t)
	env.Cfg.Roots = other.Pool()
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, s.Port))
	wantResult(t, r, Fail, result.PhaseVerify,
		[]string{`issued by "Corp Proxy CA"`, "does not trust", "likely TLS inspection"},
		[]string{"exempt " + rtcHost + " from TLS inspection", `"Corp Proxy CA"`, "ca_files"})
	if r.Details["issuer"] != `"Corp Proxy CA"` {
		t.Errorf("issuer detail = %q", r.Details["issuer"])
	}
}

func TestTLSTrustedOnlyViaAddedCAWarns(t *testing.T) {
	ca, s := startTLS(t, "Corp Proxy CA")
	env := loopbackEnv(t)
	env.Cfg.Roots = ca.Pool() // as if added with ca_files
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, s.Port))
	wantResult(t, r, Warn, result.PhaseVerify, []string{`issued by "Corp Proxy CA"`, "only through a CA added with ca_files", "TLS inspection"}, []string{"exempt " + rtcHost})
}

func TestTLSLabPasses(t *testing.T) {
	ca, s := startTLS(t, "ccp-preflight lab CA")
	env := loopbackEnv(t)
	env.Cfg.Roots = ca.Pool()
	env.Cfg.Lab = true
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, s.Port))
	wantResult(t, r, Pass, "", []string{"TLS 1.3 with " + rtcHost, "verified"}, nil)
	if r.Details["sni"] != rtcHost || r.Details["tls_version"] != "TLS 1.3" || r.Details["issuer"] == "" {
		t.Errorf("details = %v", r.Details)
	}
}

func TestTLSWrongNameIsSomethingElse(t *testing.T) {
	ca, err := lab.NewCA("ccp-preflight lab CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("portal.example")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	env := loopbackEnv(t)
	env.Cfg.Roots = ca.Pool()
	env.Cfg.Lab = true
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Fail, result.PhaseVerify, []string{"names portal.example, not " + rtcHost, "captive portal"}, []string{"allow outbound TCP"})
}

func TestTLSSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	r := runProbe(t, tlsHandshake, loopbackEnv(t), webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Fail, result.PhaseTLS, []string{"no TLS answer", "does not speak TLS"}, []string{"allow outbound TCP"})
}

func TestTLSSkipsWhenTCPFails(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := portOf(ln.Addr().String())
	ln.Close()
	r := runProbe(t, tlsHandshake, loopbackEnv(t), webEndpoint(rtcHost, port))
	wantResult(t, r, Skip, result.PhaseConnect, []string{"not tested", "see tcp.connect"}, nil)
}

// connectProxy is a tiny real HTTP CONNECT proxy on loopback: it tunnels
// to 127.0.0.1 at the requested port (every name is local in these tests)
// unless deny is set, and records what it was asked.
type connectProxy struct {
	ln   net.Listener
	deny int // HTTP status to answer instead of tunnelling; 0 tunnels
	mu   sync.Mutex
	asks []string
	auth []string
	wg   sync.WaitGroup
}

func startProxy(t *testing.T, deny int) *connectProxy {
	return startProxyTLS(t, deny, nil)
}

// startProxyTLS starts the proxy; with ca it speaks TLS (an https:// proxy).
func startProxyTLS(t *testing.T, deny int, ca *lab.CA) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if ca != nil {
		ln = tls.NewListener(ln, &tls.Config{GetCertificate: ca.GetCertificate})
	}
	p := &connectProxy{ln: ln, deny: deny}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *connectProxy) URL() *url.URL { return &url.URL{Scheme: "http", Host: p.ln.Addr().String()} }

func (p *connectProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			p.mu.Lock()
			p.asks = append(p.asks, req.Method+" "+req.Host)
			p.auth = append(p.auth, req.Header.Get("Proxy-Authorization"))
			p.mu.Unlock()
			if req.Method != http.MethodConnect || p.deny != 0 {
				code := p.deny
				if code == 0 {
					code = http.StatusMethodNotAllowed
				}
				io.WriteString(c, "HTTP/1.1 "+strconv.Itoa(code)+" "+http.StatusText(code)+"\r\nContent-Length: 0\r\n\r\n")
				return
			}
			_, port, _ := net.SplitHostPort(req.Host)
			up, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
			if err != nil {
				io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
				return
			}
			defer up.Close()
			io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			done := make(chan struct{}, 2)
			go func() { io.Copy(up, br); done <- struct{}{} }()
			go func() { io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}

func (p *connectProxy) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asks...)
}

func TestTCPAndTLSThroughConfiguredProxy(t *testing.T) {
	ca, s := startTLS(t, "ccp-preflight lab CA")
	p := startProxy(t, 0)
	noEnvProxy(t)
	// The resolver is silent: through a proxy, the endpoint's name must
	// not be resolved locally (the proxy does it).
	silent := startDNS(t, lab.DNSOptions{Mode: lab.DNSSilent})
	env := envFor(silent.Addr)
	pu := p.URL()
	pu.User = url.UserPassword("agent", "proxy-pass-123")
	env.Cfg.Proxy = pu
	env.Cfg.Roots = ca.Pool()
	env.Cfg.Lab = true
	e := webEndpoint(rtcHost, s.Port)

	r := runProbe(t, tcpConnect, env, e)
	wantResult(t, r, Pass, "", []string{"through the proxy http://" + p.ln.Addr().String()}, nil)
	r = runProbe(t, tlsHandshake, env, e)
	wantResult(t, r, Pass, "", []string{"TLS 1.3 with " + rtcHost}, nil)
	if r.Details["proxy"] != "http://"+p.ln.Addr().String() {
		t.Errorf("proxy detail = %q (credentials must not show)", r.Details["proxy"])
	}
	want := "CONNECT " + e.Addr()
	if got := p.asked(); len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("proxy was asked %q, want twice %q", got, want)
	}
	if p.auth[0] == "" {
		t.Error("no Proxy-Authorization sent for a proxy URL with credentials")
	}
}

func TestTCPThroughEnvProxyRefused(t *testing.T) {
	p := startProxy(t, http.StatusForbidden)
	env := loopbackEnv(t)
	t.Setenv("HTTPS_PROXY", p.URL().String())
	e := webEndpoint(rtcHost, 443)
	r := runProbe(t, tcpConnect, env, e)
	wantResult(t, r, Fail, result.PhaseProxy, []string{"refused to tunnel to " + e.Addr(), "403 Forbidden"},
		[]string{"on the proxy http://" + p.ln.Addr().String() + ", allow CONNECT to " + e.Addr()})
}

func TestTCPProxyUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	env := loopbackEnv(t)
	env.Cfg.Proxy = &url.URL{Scheme: "http", Host: addr}
	r := runProbe(t, tcpConnect, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Fail, result.PhaseProxy, []string{"TCP to the proxy http://" + addr, "refused"}, []string{"from the config file", "allow outbound TCP"})
}

func TestEnvProxyNamesThePath(t *testing.T) {
	env := loopbackEnv(t)
	r := runProbe(t, envProxy, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Pass, "", []string{"direct: no proxy configured"}, nil)

	t.Setenv("HTTPS_PROXY", "http://user:s3cret-pw@proxy.corp.example:3128")
	t.Setenv("NO_PROXY", ".cloudfront.net")
	r = runProbe(t, envProxy, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Warn, result.PhaseProxy, []string{"signaling WebSocket", "http://proxy.corp.example:3128"}, []string{"exempt " + rtcHost + " from the proxy"})
	r2 := runProbe(t, envProxy, env, webEndpoint("dd401jc05x2yk.cloudfront.net", 443))
	wantResult(t, r2, Pass, "", []string{"NO_PROXY exempts dd401jc05x2yk.cloudfront.net"}, nil)
	r3 := runProbe(t, envProxy, env, webEndpoint("participant.connect.us-east-1.amazonaws.com", 443))
	wantResult(t, r3, Pass, "", []string{"through the proxy http://proxy.corp.example:3128 (from the HTTPS_PROXY"}, nil)
	for _, x := range []Result{r, r2, r3} {
		if s := x.Reason + x.Remedy + x.Details["proxy"]; strings.Contains(s, "s3cret") || strings.Contains(s, "user:") {
			t.Errorf("proxy credentials leaked: %q", s)
		}
	}
	env.Cfg.Lab = true
	r = runProbe(t, envProxy, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Pass, "", []string{"lab mode ignores HTTPS_PROXY"}, nil)
}

func TestTLSThroughHTTPSProxy(t *testing.T) {
	ca, s := startTLS(t, "ccp-preflight lab CA")
	p := startProxyTLS(t, 0, ca)
	env := loopbackEnv(t)
	pu := p.URL()
	pu.Scheme = "https"
	env.Cfg.Proxy = pu
	env.Cfg.Roots = ca.Pool()
	env.Cfg.Lab = true
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, s.Port))
	wantResult(t, r, Pass, "", []string{"TLS 1.3 with " + rtcHost}, nil)
	if r.Details["proxy"] != "https://"+p.ln.Addr().String() {
		t.Errorf("proxy detail = %q", r.Details["proxy"])
	}
}

func TestConnectRemedyPerKind(t *testing.T) {
	env := envFor("")
	e := webEndpoint(rtcHost, 443)
	for k, want := range map[Kind]string{
		KindPermission:  "in the local firewall",
		KindUnreachable: "give this computer a route",
		KindRefused:     "rejects (sends a reset)",
		KindTimeout:     "allow outbound TCP 443 to " + rtcHost,
	} {
		if got := connectRemedy(env.Cfg, e, k); !strings.Contains(got, want) || !strings.Contains(got, "allow outbound TCP 443 to "+rtcHost) {
			t.Errorf("%s: remedy %q lacks %q", k, got, want)
		}
	}
}

func TestTCPProxyWantsAuthentication(t *testing.T) {
	p := startProxy(t, http.StatusProxyAuthRequired)
	env := loopbackEnv(t)
	env.Cfg.Proxy = p.URL()
	r := runProbe(t, tcpConnect, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Fail, result.PhaseProxy, []string{"asks for authentication (HTTP 407)"}, []string{"exempt " + rtcHost + " from proxy authentication"})
}
