// Tests of dial.go's proxy path (HTTPS_PROXY, the config's proxy, CONNECT,
// proxy authentication) through tcp.connect and tls.handshake, against a
// real CONNECT proxy on loopback.

package probe

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

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
