package probe

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/internal/wsproxy"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

const sigHost = "abc123.transport.connect.us-east-1.amazonaws.com"

// shortTiming holds the socket 1.2 s with pings every 0.6 s: the CCP's 10 s
// scaled down, so a test does not wait two heartbeats.
var shortTiming = wsTiming{hold: 1200 * time.Millisecond, heartbeat: 600 * time.Millisecond}

// sigEnv is a loopback Env whose signaling target is host:port, as
// signaling_url would set it; roots trust the lab CA.
func sigEnv(t *testing.T, host string, port int, ca *lab.CA) *Env {
	t.Helper()
	env := loopbackEnv(t)
	if ca != nil {
		env.Cfg.Roots = ca.Pool()
	}
	env.Cfg.Signaling = []config.Signaling{{
		Endpoint: catalog.Endpoint{Host: host, Port: port, Service: catalog.EC2},
		Path:     "/connect", Query: "X-Amz-Signature=s3cr3tsignature", Configured: true, Region: "us-east-1",
	}}
	return env
}

func runSig(t *testing.T, env *Env, tm wsTiming) Result {
	t.Helper()
	ts := signalingTargets(env.Cfg)
	if len(ts) != 1 {
		t.Fatalf("%d targets", len(ts))
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), wsTimingKey{}, tm), signalingBudget(env.Cfg))
	defer cancel()
	r := signalingWebSocket.Run(ctx, env, ts[0])
	if strings.Contains(r.Reason+r.Remedy+strings.Join(values(r.Details), " "), "s3cr3t") {
		t.Errorf("the URL's token appears in the result: %+v", r)
	}
	return r
}

// startWS is the lab's HTTPS server serving the lab's WebSocket endpoint.
func startWS(t *testing.T) (*lab.CA, *lab.HTTPSServer, *lab.WebSocketServer) {
	t.Helper()
	ca, err := lab.NewCA("ccp-preflight lab CA")
	if err != nil {
		t.Fatal(err)
	}
	ws := lab.NewWebSocket(nil)
	s, err := lab.StartHTTPS(ca, ws)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close(); s.Close() })
	return ca, s, ws
}

// TestSignalingHealthyHoldsIdle: a real WebSocket server directly: 101,
// then the socket stays open through idle periods with pings answered.
func TestSignalingHealthyHoldsIdle(t *testing.T) {
	ca, s, ws := startWS(t)
	env := sigEnv(t, sigHost, s.Port, ca)
	env.Cfg.Lab = true
	checkLeaks := goroutineLeakCheck(t)
	r := runSig(t, env, shortTiming)
	wantResult(t, r, Pass, "", []string{"upgraded (101, directly)", "stayed open", "pings answered"}, nil)
	if r.Metrics["pings"] < 2 || r.Metrics["open_s"] < shortTiming.hold.Seconds() || r.Metrics["upgrade_ms"] <= 0 {
		t.Errorf("metrics = %v", r.Metrics)
	}
	if ws.Accepted() != 1 || r.Details["url"] != "wss://"+sigHost+":"+strconv.Itoa(s.Port)+"/connect" || !strings.Contains(r.Details["expected"], "101") {
		t.Errorf("accepted %d, details %v", ws.Accepted(), r.Details)
	}
	checkLeaks()
}

// TestSignalingThroughProxy: the same server through a real CONNECT proxy
// (the config's proxy, as the browser's path): it passes and names it.
func TestSignalingThroughProxy(t *testing.T) {
	ca, s, _ := startWS(t)
	env := sigEnv(t, sigHost, s.Port, ca)
	p, err := wsproxy.Start("127.0.0.1:0", wsproxy.Options{Resolver: env.Cfg.Resolver})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	env.Cfg.Lab = true
	env.Cfg.Proxy = &url.URL{Scheme: "http", Host: p.Addr}
	r := runSig(t, env, shortTiming)
	wantResult(t, r, Pass, "", []string{"through the proxy http://" + p.Addr}, nil)
}

// TestSignalingUpgradeStripped: a TLS-inspecting proxy that forwards the
// upgrade without its Upgrade/Connection headers: the server answers 426
// and the check fails in phase upgrade, naming the stripping.
func TestSignalingUpgradeStripped(t *testing.T) {
	ca, s, ws := startWS(t)
	cert, err := ca.Issue(sigHost)
	if err != nil {
		t.Fatal(err)
	}
	env := sigEnv(t, sigHost, s.Port, ca)
	// The proxy resolves the name itself, with the test's DNS.
	p, err := wsproxy.Start("127.0.0.1:0", wsproxy.Options{Mode: wsproxy.StripUpgrade, Cert: cert, RootCAs: ca.Pool(), Resolver: env.Cfg.Resolver})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	env.Cfg.Proxy = &url.URL{Scheme: "http", Host: p.Addr}
	r := runSig(t, env, shortTiming)
	wantResult(t, r, Fail, result.PhaseUpgrade,
		[]string{"426 Upgrade Required", "strips Upgrade"},
		[]string{"keep the Upgrade and Connection headers", "*.transport.connect.us-east-1.amazonaws.com"})
	if ws.Accepted() != 0 {
		t.Errorf("the server accepted %d upgrades through a stripping proxy", ws.Accepted())
	}
}

// TestSignalingIdleCut: a proxy that closes tunnels idle for 300 ms, less
// than the (scaled) heartbeat: the socket upgrades, then is cut while idle.
func TestSignalingIdleCut(t *testing.T) {
	ca, s, _ := startWS(t)
	env := sigEnv(t, sigHost, s.Port, ca)
	p, err := wsproxy.Start("127.0.0.1:0", wsproxy.Options{Idle: 300 * time.Millisecond, Resolver: env.Cfg.Resolver})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	env.Cfg.Lab = true
	env.Cfg.Proxy = &url.URL{Scheme: "http", Host: p.Addr}
	r := runSig(t, env, shortTiming)
	wantResult(t, r, Fail, result.PhaseIdle,
		[]string{"cut after", "without traffic", "heartbeat every 10s"},
		[]string{"raise the idle timeout", "*.transport.connect.us-east-1.amazonaws.com:" + strconv.Itoa(s.Port), "the proxy http://" + p.Addr})
	// It was cut while idle, before the next ping: never sooner than the
	// proxy's limit allows minus the ping's own time, never after the wait.
	if idle := r.Metrics["idle_s"]; idle < 0.2 || idle > shortTiming.heartbeat.Seconds() {
		t.Errorf("idle_s = %.3f, want the proxy's 0.3 s cut (within (0.2, %.1f])", idle, shortTiming.heartbeat.Seconds())
	}
	if p.IdleCuts() != 1 {
		t.Errorf("the proxy cut %d tunnels", p.IdleCuts())
	}
}

// TestSignalingAWSRefusesUnauthenticated: a server with an AWS name and an
// Amazon-issued certificate refuses the upgrade with 403, as AWS does
// without a session token: the path is proven, the idle part not tested.
func TestSignalingAWSRefusesUnauthenticated(t *testing.T) {
	ca, err := lab.NewCA("Amazon RSA 2048 M03")
	if err != nil {
		t.Fatal(err)
	}
	s, err := lab.StartHTTPS(ca, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"message":"Forbidden"}`, http.StatusForbidden)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	env := sigEnv(t, sigHost, s.Port, ca)
	r := runSig(t, env, shortTiming)
	wantResult(t, r, Pass, "", []string{"AWS answered the unauthenticated WebSocket upgrade with 403 Forbidden as expected", "Not tested: a long-lived idle socket"}, nil)

	// The same answer from a certificate AWS did not issue: a warning.
	other, err := lab.NewCA("Corp Proxy CA")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := lab.StartHTTPS(other, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	env = sigEnv(t, sigHost, s2.Port, other)
	r = runSig(t, env, shortTiming)
	wantResult(t, r, Warn, result.PhaseUpgrade, []string{"403 Forbidden", `"Corp Proxy CA"`}, []string{"let WebSocket upgrades"})
}

// TestSignalingProxyAnswersItself: a 403 carrying a proxy's Via header is
// the proxy's own refusal, not AWS's.
func TestSignalingProxyAnswersItself(t *testing.T) {
	ca, err := lab.NewCA("Amazon RSA 2048 M03")
	if err != nil {
		t.Fatal(err)
	}
	s, err := lab.StartHTTPS(ca, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Via", "1.1 proxy.corp (squid/5.7)")
		http.Error(w, "Access denied by policy", http.StatusForbidden)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := runSig(t, sigEnv(t, sigHost, s.Port, ca), shortTiming)
	wantResult(t, r, Fail, result.PhaseUpgrade, []string{"answered 403 Forbidden by a proxy", "squid"}, []string{"let WebSocket upgrades"})
	if !strings.Contains(r.Details["body"], "Access denied") {
		t.Errorf("body detail = %q", r.Details["body"])
	}
}

// TestSignalingResetOnUpgrade: TLS completes, then the connection is reset
// when the upgrade request arrives (a firewall refusing WebSockets).
func TestSignalingResetOnUpgrade(t *testing.T) {
	ca, err := lab.NewCA("ccp-preflight lab CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := ca.Issue(sigHost)
	ln := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{*cert}}, func(c *tls.Conn) {
		buf := make([]byte, 1)
		_, _ = c.Read(buf) // the request's first byte: then reset
		if tc, ok := c.NetConn().(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	})
	env := sigEnv(t, sigHost, portOf(ln.Addr().String()), ca)
	env.Cfg.Lab = true
	r := runSig(t, env, shortTiming)
	wantResult(t, r, Fail, result.PhaseUpgrade, []string{"when the WebSocket upgrade was sent"}, []string{"let WebSocket upgrades"})
}

// TestSignalingUnresolved: the configured host not resolving fails; the
// catalog's stand-in not resolving is a skip that says to set signaling_url.
func TestSignalingUnresolved(t *testing.T) {
	noEnvProxy(t)
	s := startDNS(t, lab.DNSOptions{Mode: lab.DNSNXDomain})
	env := envFor(s.Addr)
	env.Cfg.Signaling = []config.Signaling{{Endpoint: catalog.Endpoint{Host: sigHost, Port: 443}, Path: "/", Configured: true, Region: "us-east-1"}}
	r := runSig(t, env, shortTiming)
	wantResult(t, r, Fail, result.PhaseResolve, []string{sigHost, "did not resolve (nxdomain", "signalling_connection_failure"}, []string{"*.transport.connect.us-east-1.amazonaws.com"})

	env = envFor(s.Addr)
	env.Cfg.Signaling = []config.Signaling{{Endpoint: catalog.Signaling("us-east-1"), Path: "/", Region: "us-east-1"}}
	r = runSig(t, env, shortTiming)
	wantResult(t, r, Skip, result.PhaseResolve, []string{"not tested", "transport.connect.us-east-1.amazonaws.com", "signaling_url"}, nil)
}

// TestSignalingRefused: nothing listens: fail in phase connect, with the
// signaling domain in the remedy.
func TestSignalingRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := portOf(ln.Addr().String())
	ln.Close()
	r := runSig(t, sigEnv(t, sigHost, port, nil), shortTiming)
	wantResult(t, r, Fail, result.PhaseConnect, []string{"refused"}, []string{"allow outbound TCP", "*.transport.connect.us-east-1.amazonaws.com", "reset"})
}

func TestWSUpgradeLimitFollowsPath(t *testing.T) {
	for setup, want := range map[time.Duration]time.Duration{
		time.Millisecond: wsUpgradeMin, time.Second: 4 * time.Second, 5 * time.Second: wsUpgradeMax,
	} {
		if got := wsUpgradeLimit(setup); got != want {
			t.Errorf("wsUpgradeLimit(%v) = %v, want %v", setup, got, want)
		}
	}
	c := &config.Config{Duration: 5 * time.Second}
	if signalingHold(c) != signalingHeartbeat {
		t.Errorf("hold %v with --duration 5s, want one heartbeat", signalingHold(c))
	}
	c.Duration = time.Minute
	if signalingHold(c) != time.Minute {
		t.Errorf("hold %v with --duration 1m", signalingHold(c))
	}
}
