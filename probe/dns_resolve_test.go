package probe

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

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

// spoofDNS starts a miekg/dns server on loopback that answers every
// question with the records answer returns for it (nil: an empty answer).
func spoofDNS(t *testing.T, answer func(q dns.Question) (question *dns.Question, rrs []string)) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q, rrs := answer(req.Question[0])
		if q != nil {
			m.Question = []dns.Question{*q}
		}
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Errorf("record %q: %v", s, err)
				continue
			}
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestDNSResolveForeignRecords: only records owned by the name asked, or
// by its CNAME chain, are the name's addresses. Before the fix a resolver
// answering "evil.example. A 15.193.6.66" to a question about the TURN
// name made dns.resolve PASS with "resolves to 15.193.6.66" (a public
// address), and every check then connected there.
func TestDNSResolveForeignRecords(t *testing.T) {
	q := dns.Fqdn(testTURNHost)
	for _, tc := range []struct {
		name       string
		answer     func(dns.Question) (*dns.Question, []string)
		status     Status
		phase      string
		address    string
		reason     []string
		notInAddrs string
	}{
		{"only another name", func(x dns.Question) (*dns.Question, []string) {
			if x.Qtype != dns.TypeA {
				return nil, nil
			}
			return nil, []string{"evil.example. 60 IN A 15.193.6.66"}
		}, Fail, result.PhaseResolve, "", []string{"evil.example. A 15.193.6.66", "spoofed", "not used"}, "15.193.6.66"},
		{"mixed: the name's own and another's", func(x dns.Question) (*dns.Question, []string) {
			if x.Qtype != dns.TypeA {
				return nil, nil
			}
			return nil, []string{q + " 60 IN A 15.193.6.10", "evil.example. 60 IN A 15.193.6.66"}
		}, Warn, result.PhaseResolve, "15.193.6.10", []string{"resolves to 15.193.6.10", "evil.example. A 15.193.6.66", "ignored"}, "15.193.6.66"},
		{"CNAME chain is the name's", func(x dns.Question) (*dns.Question, []string) {
			if x.Qtype != dns.TypeA {
				return nil, nil
			}
			return nil, []string{q + " 60 IN CNAME a.Example.NET.", "a.example.net. 60 IN CNAME b.example.net.", "B.example.net. 60 IN A 15.193.6.10"}
		}, Pass, "", "15.193.6.10", []string{"resolves to 15.193.6.10"}, ""},
		{"an answer to another question", func(x dns.Question) (*dns.Question, []string) {
			if x.Qtype != dns.TypeA {
				return nil, nil
			}
			other := dns.Question{Name: "evil.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET}
			return &other, []string{"evil.example. 60 IN A 15.193.6.66"}
		}, Fail, result.PhaseResolve, "", []string{"another name", "the question evil.example. A"}, "15.193.6.66"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := spoofDNS(t, tc.answer)
			env := envFor(srv)
			r := runProbe(t, dnsResolve, env, turnEndpoint())
			wantResult(t, r, tc.status, tc.phase, tc.reason, nil)
			if r.Address != tc.address {
				t.Errorf("address %q, want %q", r.Address, tc.address)
			}
			if tc.status != Pass && r.Remedy == "" {
				t.Errorf("no remedy: %+v", r)
			}
			// Every other check uses the shared answer: never the foreign address.
			ans := env.DNS.Lookup(context.Background(), testTURNHost)
			for _, a := range ans.Addrs {
				if tc.notInAddrs != "" && a.String() == tc.notInAddrs {
					t.Errorf("the foreign address %s is used as %s's", a, testTURNHost)
				}
			}
		})
	}
}

// FuzzOwnedAnswers: whatever records a server sends, ownedAnswers keeps
// only addresses owned by the question's CNAME chain, never panics, and
// terminates on CNAME loops.
func FuzzOwnedAnswers(f *testing.F) {
	f.Add("x.example. 60 IN CNAME y.example.\ny.example. 60 IN CNAME x.example.\ny.example. 60 IN A 192.0.2.1")
	f.Add("evil.example. 60 IN A 192.0.2.1")
	f.Fuzz(func(t *testing.T, zone string) {
		var rrs []dns.RR
		zp := dns.NewZoneParser(strings.NewReader(zone), "", "")
		for rr, ok := zp.Next(); ok && len(rrs) < 64; rr, ok = zp.Next() {
			rrs = append(rrs, rr)
		}
		addrs, _ := ownedAnswers("x.example.", dns.TypeA, rrs)
		for _, a := range addrs {
			found := false
			for _, rr := range rrs {
				if v, ok := rr.(*dns.A); ok && v.A.Equal(net.IP(a.AsSlice())) {
					found = true
				}
			}
			if !found {
				t.Errorf("address %s not among the records", a)
			}
		}
	})
}
