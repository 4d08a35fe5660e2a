package probe

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

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

func TestDNSResolveFailuresToldApart(t *testing.T) {
	cases := []struct {
		name             string
		mode             lab.DNSMode
		reason, remedy   []string
		wantStatus       Status
		unconfirmedTweak bool
	}{
		{"nxdomain", lab.DNSNXDomain, []string{"does not exist", "NXDOMAIN"}, []string{"resolves " + testTURNHost, "allow the domain"}, Fail, false},
		{"servfail", lab.DNSServFail, []string{"SERVFAIL"}, []string{"outbound UDP and TCP 53"}, Fail, false},
		{"refused", lab.DNSRefused, []string{"REFUSED"}, []string{"allows recursive queries"}, Fail, false},
		{"silent", lab.DNSSilent, []string{"no answer from the DNS server", "UDP 53"}, []string{"allow outbound UDP and TCP 53 to the DNS server"}, Fail, false},
		{"nodata", lab.DNSNoData, []string{"no address record"}, []string{"A records"}, Fail, false},
		{"nxdomain-unconfirmed", lab.DNSNXDomain, []string{"NXDOMAIN", "reported by a third party"}, []string{"not on AWS's published list"}, Warn, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startDNS(t, lab.DNSOptions{Mode: c.mode})
			env := envFor(s.Addr)
			e := turnEndpoint()
			e.Unconfirmed = c.unconfirmedTweak
			r := runProbe(t, dnsResolve, env, e)
			wantResult(t, r, c.wantStatus, result.PhaseResolve, append(c.reason, s.Addr), c.remedy)
			if r.Details["resolver"] != s.Addr {
				t.Errorf("resolver detail = %q, want %q", r.Details["resolver"], s.Addr)
			}
		})
	}
}

func TestDNSResolvePrivateAnswerWarns(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{Addrs: []netip.Addr{netip.MustParseAddr("10.1.2.3")}})
	r := runProbe(t, dnsResolve, envFor(s.Addr), turnEndpoint())
	wantResult(t, r, Warn, result.PhaseResolve, []string{"10.1.2.3 (private)", "split-horizon DNS", "hijack"}, []string{"AWS's public answer for " + testTURNHost})
	if r.Address != "10.1.2.3" {
		t.Errorf("address = %q", r.Address)
	}
}

func TestDNSResolveLoopbackExpectedInLab(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{})
	env := envFor(s.Addr)
	r := runProbe(t, dnsResolve, env, turnEndpoint())
	wantResult(t, r, Warn, result.PhaseResolve, []string{"127.0.0.1 (loopback)"}, nil)

	env = envFor(s.Addr)
	env.Cfg.Lab = true
	r = runProbe(t, dnsResolve, env, turnEndpoint())
	wantResult(t, r, Pass, "", []string{"resolves to 127.0.0.1"}, nil)
}

func TestDNSResolvePublicAnswerPasses(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{Addrs: []netip.Addr{netip.MustParseAddr("15.193.6.10"), netip.MustParseAddr("2600:f0f2:7100::1")}})
	r := runProbe(t, dnsResolve, envFor(s.Addr), turnEndpoint())
	wantResult(t, r, Pass, "", []string{"15.193.6.10", "2600:f0f2:7100::1"}, nil)
}

func TestResolverSharesOneQueryPerName(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{})
	res := NewResolver(s.Addr)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			a := res.Lookup(context.Background(), "Name.Example")
			if a.Err != nil || len(a.Addrs) != 1 {
				t.Errorf("lookup = %+v", a)
			}
		})
	}
	wg.Wait()
	res.Lookup(context.Background(), "name.example.")
	if got := s.Queries(); got != 2 { // one A and one AAAA
		t.Errorf("server saw %d queries, want 2 (one A, one AAAA) for 21 lookups", got)
	}
}

func TestResolverCancelledCallerDoesNotPoisonCache(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{})
	res := NewResolver(s.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if a := res.Lookup(ctx, "a.example"); a.Err == nil || a.Kind != DNSCancelled {
		t.Fatalf("cancelled lookup = %+v, want a cancelled failure", a)
	}
	a := res.Lookup(context.Background(), "a.example")
	if a.Err != nil || len(a.Addrs) == 0 {
		t.Fatalf("lookup after a cancelled one = %+v, want an answer", a)
	}
}

func TestResolverWaiterRetriesWhenFirstCallerGivesUp(t *testing.T) {
	// The first caller's short deadline ends while the server is silent;
	// a second caller with time left must not inherit that failure.
	silent := startDNS(t, lab.DNSOptions{Mode: lab.DNSSilent})
	res := NewResolver(silent.Addr)
	ctx1, cancel1 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel1()
	done := make(chan Answer)
	go func() { done <- res.Lookup(ctx1, "b.example") }()
	time.Sleep(10 * time.Millisecond)
	a2 := res.Lookup(context.Background(), "b.example")
	a1 := <-done
	if a1.Kind != DNSTimeout {
		t.Errorf("first caller: %+v, want timeout", a1)
	}
	if a2.Kind != DNSTimeout || a2.RTT < resolveTimeout-100*time.Millisecond {
		t.Errorf("second caller: kind %q after %v, want its own full timeout (%v)", a2.Kind, a2.RTT, resolveTimeout)
	}
}

func TestResolverIPLiteral(t *testing.T) {
	a := NewResolver("").Lookup(context.Background(), "192.0.2.1")
	if a.Err != nil || len(a.Addrs) != 1 || a.Addrs[0].String() != "192.0.2.1" {
		t.Fatalf("literal = %+v", a)
	}
}

func TestDNSResolveIPLiteralSkips(t *testing.T) {
	r := runProbe(t, dnsResolve, envFor(""), webEndpoint("192.0.2.10", 443))
	wantResult(t, r, Skip, "", []string{"is an IP address"}, nil)
}

func TestResolverSystemHostsFile(t *testing.T) {
	// "localhost" comes from /etc/hosts (or Go's built-in loopback rule):
	// no packet leaves this computer.
	a := NewResolver("").Lookup(context.Background(), "localhost")
	if a.Err != nil || len(a.Addrs) == 0 || !a.Addrs[0].IsLoopback() || a.Server != "system resolver" {
		t.Fatalf("system lookup of localhost = %+v", a)
	}
}
