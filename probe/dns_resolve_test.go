package probe

import (
	"net/netip"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

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

func TestDNSResolveIPLiteralSkips(t *testing.T) {
	r := runProbe(t, dnsResolve, envFor(""), webEndpoint("192.0.2.10", 443))
	wantResult(t, r, Skip, "", []string{"is an IP address"}, nil)
}
