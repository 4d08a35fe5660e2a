package lab

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/miekg/dns"
	"github.com/pion/turn/v5"
)

// waitGoroutines fails when goroutines started by the test outlive it.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left running after Close (before: %d):\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func startLab(t *testing.T) (*Lab, *config.Config) {
	t.Helper()
	l, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfg, err := config.Build(nil, config.Overrides{Region: "us-east-1", Instance: "myalias", Targets: l.Targets()})
	if err != nil {
		t.Fatal(err)
	}
	l.Answer(cfg)
	return l, cfg
}

func query(t *testing.T, server, name string, qt uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qt)
	c := &dns.Client{Timeout: time.Second}
	in, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return in
}

func TestLabTargets(t *testing.T) {
	l, cfg := startLab(t)
	region, _ := catalog.Lookup("us-east-1")
	if len(cfg.TURN) != len(region.TURN) || len(cfg.HTTPS) == 0 {
		t.Fatalf("targets: %d TURN, %d HTTPS", len(cfg.TURN), len(cfg.HTTPS))
	}
	for i, e := range cfg.TURN {
		if e.Host != region.TURN[i].Host || e.Port != l.TURN[i%2].Port {
			t.Errorf("TURN %d = %s, want %s at lab port %d", i, e.Addr(), region.TURN[i].Host, l.TURN[i%2].Port)
		}
	}
	if region.TURN[0].Port != 3478 {
		t.Error("the lab's targets wrote into the catalog's own data")
	}
	for _, e := range cfg.HTTPS {
		if e.Port != l.HTTPS.Port {
			t.Errorf("HTTPS %s: port %d, want the lab's %d", e.Host, e.Port, l.HTTPS.Port)
		}
	}
	if cfg.Resolver != l.DNS.Addr || cfg.Roots == nil || cfg.Proxy != nil || !cfg.Lab {
		t.Errorf("resolver %q roots %v proxy %v lab %v", cfg.Resolver, cfg.Roots, cfg.Proxy, cfg.Lab)
	}
	if cfg.Ranges == nil || cfg.Ranges.Source != "lab" {
		t.Fatalf("ranges = %+v", cfg.Ranges)
	}
	for _, svc := range []string{"AMAZON_CONNECT", "EC2", "CLOUDFRONT"} {
		found := false
		for _, p := range cfg.Ranges.Lookup(netip.MustParseAddr("127.0.0.1")) {
			found = found || p.Service == svc
		}
		if !found {
			t.Errorf("lab ranges lack 127.0.0.1 for %s", svc)
		}
	}
	if len(cfg.ICEServers) != 1 || len(cfg.ICEServers[0].URLs) != 2 {
		t.Fatalf("ICE servers = %v", cfg.ICEServers)
	}
	for i, u := range cfg.ICEServers[0].URLs {
		p, err := config.ParseTURNURL(u)
		if err != nil || p.Host != "127.0.0.1" || p.Port != l.TURN[i].Port || p.Transport != "udp" {
			t.Errorf("ICE URL %q: %+v %v", u, p, err)
		}
	}
}

func TestLabDNSAnswersCatalogNamesOnly(t *testing.T) {
	l, cfg := startLab(t)
	for _, e := range append(append([]catalog.Endpoint{}, cfg.HTTPS...), cfg.TURN...) {
		in := query(t, l.DNS.Addr, strings.ToUpper(e.Host), dns.TypeA)
		if in.Rcode != dns.RcodeSuccess || len(in.Answer) != 1 || in.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
			t.Errorf("%s: %v", e.Host, in)
		}
		if in := query(t, l.DNS.Addr, e.Host, dns.TypeAAAA); in.Rcode != dns.RcodeSuccess || len(in.Answer) != 0 {
			t.Errorf("%s AAAA: %v", e.Host, in)
		}
	}
	if in := query(t, l.DNS.Addr, "not-in-the-catalog.example", dns.TypeA); in.Rcode != dns.RcodeNameError {
		t.Errorf("unknown name: rcode %s, want NXDOMAIN", dns.RcodeToString[in.Rcode])
	}
}

func TestStartDNSModes(t *testing.T) {
	for mode, rcode := range map[DNSMode]int{DNSNXDomain: dns.RcodeNameError, DNSServFail: dns.RcodeServerFailure, DNSRefused: dns.RcodeRefused, DNSNoData: dns.RcodeSuccess} {
		s, err := StartDNS(DNSOptions{Mode: mode, PerName: map[string]DNSReply{"special.example": {Addrs: []netip.Addr{netip.MustParseAddr("10.9.8.7")}}}})
		if err != nil {
			t.Fatal(err)
		}
		if in := query(t, s.Addr, "x.example", dns.TypeA); in.Rcode != rcode || len(in.Answer) != 0 {
			t.Errorf("mode %d: %v", mode, in)
		}
		if in := query(t, s.Addr, "Special.Example.", dns.TypeA); len(in.Answer) != 1 || in.Answer[0].(*dns.A).A.String() != "10.9.8.7" {
			t.Errorf("mode %d per-name override: %v", mode, in)
		}
		s.Close()
	}
	s, err := StartDNS(DNSOptions{Mode: DNSSilent})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := new(dns.Msg)
	m.SetQuestion("x.example.", dns.TypeA)
	if _, _, err := (&dns.Client{Timeout: 200 * time.Millisecond}).Exchange(m, s.Addr); err == nil {
		t.Error("silent server answered")
	}
	if s.Queries() != 1 {
		t.Errorf("queries = %d", s.Queries())
	}
}

func TestLabHTTPSServesEveryNameWithDate(t *testing.T) {
	l, cfg := startLab(t)
	for _, e := range cfg.HTTPS {
		tr := &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: cfg.Roots, ServerName: e.Host},
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", l.HTTPS.Addr)
			},
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 2 * time.Second}).Get("https://" + e.Addr() + "/")
		if err != nil {
			t.Fatalf("%s: %v", e.Host, err)
		}
		resp.Body.Close()
		if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
			t.Errorf("%s: Date header %q: %v", e.Host, resp.Header.Get("Date"), err)
		}
		if resp.TLS.PeerCertificates[0].Subject.CommonName != e.Host {
			t.Errorf("%s: certificate for %q", e.Host, resp.TLS.PeerCertificates[0].Subject.CommonName)
		}
		tr.CloseIdleConnections()
	}
}

// TestLabTURNRelaysToLoopbackPeer allocates on each lab TURN server with the
// lab credential and sends data through the relay to a loopback peer and
// back — what turn.allocate and media checks rely on.
func TestLabTURNRelaysToLoopbackPeer(t *testing.T) {
	l, cfg := startLab(t)
	ice := cfg.ICEServers[0]
	for i, ts := range l.TURN {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := turn.NewClient(&turn.ClientConfig{
			STUNServerAddr: ts.Addr, TURNServerAddr: ts.Addr, Conn: pc,
			Username: ice.Username.Reveal(), Password: ice.Credential.Reveal(), RTO: 100 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		mapped, err := c.SendBindingRequest()
		if err != nil || mapped.String() != pc.LocalAddr().String() {
			t.Errorf("server %d: binding = %v, %v; want %v", i, mapped, err, pc.LocalAddr())
		}
		relay, err := c.Allocate()
		if err != nil {
			t.Fatalf("server %d: allocate: %v", i, err)
		}
		peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := relay.WriteTo([]byte("ping"), peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := peer.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("server %d: peer read %q %v", i, buf[:n], err)
		}
		if _, err := peer.WriteTo([]byte("pong"), from); err != nil {
			t.Fatal(err)
		}
		_ = relay.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err = relay.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "pong" {
			t.Fatalf("server %d: relay read %q %v", i, buf[:n], err)
		}
		relay.Close()
		c.Close()
		pc.Close()
		peer.Close()
	}
}

func TestLabTURNRejectsOtherCredentials(t *testing.T) {
	s, err := StartTURN(TURNOptions{Username: "agent", Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pc, _ := net.ListenPacket("udp4", "127.0.0.1:0")
	defer pc.Close()
	c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: s.Addr, STUNServerAddr: s.Addr, Conn: pc, Username: "agent", Password: "wrong", RTO: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Allocate(); err == nil {
		t.Fatal("allocation with a wrong password succeeded")
	}
}

func TestLabCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	l, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	addr := l.HTTPS.Addr
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("HTTPS still listening after Close")
	}
	waitGoroutines(t, before)
}

func TestLabStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr := l.HTTPS.Addr
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("lab still serving after its context ended")
}
