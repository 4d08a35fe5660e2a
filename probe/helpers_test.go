// Test helpers several checks' tests share: a lab DNS server, endpoints,
// an Env, running one probe, checking a Result; for the media checks a
// TURN server, an impairing relay in front of it, and a config.

package probe

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/internal/impair"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/quality"
)

// serveTLS serves TLS with cfg on a loopback port until the test ends,
// handing each accepted connection to handle in its own goroutine.
func serveTLS(t *testing.T, cfg *tls.Config, handle func(c *tls.Conn)) net.Listener {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	acceptEach(t, ln, func(c net.Conn) { handle(c.(*tls.Conn)) })
	return ln
}

// acceptEach hands every connection ln accepts to handle, in its own
// goroutine, until the test ends; then it closes ln and every connection
// it accepted, and waits for the handlers to return.
func acceptEach(t *testing.T, ln net.Listener, handle func(c net.Conn)) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { handle(c) })
		}
	})
}

// startDNS starts a lab DNS server for the test and closes it at the end.
func startDNS(t *testing.T, opts lab.DNSOptions) *lab.DNSServer {
	t.Helper()
	s, err := lab.StartDNS(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const testTURNHost = "TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com"

func turnEndpoint() catalog.Endpoint {
	return catalog.Endpoint{Host: testTURNHost, Port: 3478, Purpose: "media (TURN)", Service: catalog.AmazonConnect}
}

func webEndpoint(host string, port int) catalog.Endpoint {
	return catalog.Endpoint{Host: host, Port: port, Purpose: "softphone signaling (CCP v1)", Service: catalog.EC2}
}

func envFor(resolver string) *Env {
	cfg := &config.Config{Region: "us-east-1", Resolver: resolver, Timeout: config.DefaultTimeout}
	return NewEnv(cfg)
}

func runProbe(t *testing.T, p Probe, env *Env, e catalog.Endpoint) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), p.Budget(env.Cfg))
	defer cancel()
	return p.Run(ctx, env, Target{Name: e.Addr(), Endpoint: e})
}

func wantResult(t *testing.T, r Result, status Status, phase string, reasonHas, remedyHas []string) {
	t.Helper()
	if r.Status != status || r.Phase != phase {
		t.Errorf("status/phase = %s/%q, want %s/%q (reason %q)", r.Status, r.Phase, status, phase, r.Reason)
	}
	for _, s := range reasonHas {
		if !strings.Contains(r.Reason, s) {
			t.Errorf("reason %q lacks %q", r.Reason, s)
		}
	}
	for _, s := range remedyHas {
		if !strings.Contains(r.Remedy, s) {
			t.Errorf("remedy %q lacks %q", r.Remedy, s)
		}
	}
}

const rtcHost = "rtc.connect-telecom.us-east-1.amazonaws.com"

// noEnvProxy clears the proxy environment so only the test's choice applies.
// It also unsets auto_proxy (set but empty would mean WPAD) and the
// desktop (so GNOME's settings are not read).
func noEnvProxy(t *testing.T) {
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
		"ALL_PROXY", "all_proxy", "auto_proxy", "XDG_CURRENT_DESKTOP"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
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

// startTURN runs the lab's TURN server (pion/turn) on loopback; it answers
// STUN Binding requests as a TURN server in the field does.
func startTURN(t testing.TB) *net.UDPAddr {
	t.Helper()
	s, err := lab.StartTURN(lab.TURNOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.Port}
}

// relayTo puts an impairing relay in front of addr.
func relayTo(t testing.TB, addr *net.UDPAddr, c impair.Config) *impair.Relay {
	t.Helper()
	r, err := impair.New(addr.String(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func testConfig(d time.Duration, addrs ...*net.UDPAddr) *config.Config {
	th, _ := quality.Profile("connect")
	c := &config.Config{Region: "us-east-1", Duration: d, Timeout: 2 * time.Second, Thresholds: th}
	for _, a := range addrs {
		c.TURN = append(c.TURN, catalog.Endpoint{Host: a.IP.String(), Port: a.Port, Service: catalog.AmazonConnect})
	}
	return c
}
