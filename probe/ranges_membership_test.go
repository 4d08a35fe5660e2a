package probe

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/ranges"
	"github.com/ccp-preflight/ccp-preflight/result"
)

func embeddedRanges(t *testing.T) *ranges.Set {
	t.Helper()
	s, err := ranges.Open("")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMembershipTURNInAmazonConnect(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{Addrs: []netip.Addr{netip.MustParseAddr("15.193.6.10")}})
	env := envFor(s.Addr)
	env.Cfg.Ranges = embeddedRanges(t)
	r := runProbe(t, rangesMembership, env, turnEndpoint())
	wantResult(t, r, Pass, "", []string{"AMAZON_CONNECT", "embedded, createDate 2026-08-22 15:17:05 UTC"}, nil)
	if !strings.Contains(r.Details["matched"], "15.193.6.0/24") {
		t.Errorf("matched = %q, want the longest AMAZON_CONNECT prefix 15.193.6.0/24", r.Details["matched"])
	}
}

func TestMembershipOutsideWarnsNamingData(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.7")}})
	env := envFor(s.Addr)
	env.Cfg.Ranges = embeddedRanges(t)
	r := runProbe(t, rangesMembership, env, turnEndpoint())
	wantResult(t, r, Warn, result.PhaseRanges,
		[]string{"192.0.2.7", "outside every AWS range", "DNS hijack, a proxy answering for AWS, or a stale list", "embedded, createDate 2026-08-22"},
		[]string{"nslookup " + testTURNHost, "ccp-preflight ranges update"})
	if r.Metrics["outside_ranges"] != 1 {
		t.Errorf("outside_ranges = %v", r.Metrics["outside_ranges"])
	}
}

func TestMembershipAmazonButNotServiceWarns(t *testing.T) {
	// Find an address that is in AMAZON but in neither EC2 nor CLOUDFRONT
	// in the embedded data, so the test follows the file.
	set := embeddedRanges(t)
	var addr netip.Addr
	for _, p := range set.Filter("AMAZON", "", false) {
		a := p.Prefix.Addr().Next()
		ok := true
		for _, q := range set.Lookup(a) {
			if q.Service == "EC2" || q.Service == "CLOUDFRONT" {
				ok = false
			}
		}
		if ok {
			addr = a
			break
		}
	}
	if !addr.IsValid() {
		t.Skip("embedded ranges have no AMAZON-only address")
	}
	s := startDNS(t, lab.DNSOptions{Addrs: []netip.Addr{addr}})
	env := envFor(s.Addr)
	env.Cfg.Ranges = set
	r := runProbe(t, rangesMembership, env, webEndpoint("rtc.connect-telecom.us-east-1.amazonaws.com", 443))
	wantResult(t, r, Warn, result.PhaseRanges, []string{addr.String(), "not in the EC2 or CLOUDFRONT ranges", "Option 2"}, []string{"by domain name"})
}

func TestMembershipCloudFrontHostWantsCloudFront(t *testing.T) {
	set := embeddedRanges(t)
	cf := set.Filter("CLOUDFRONT", "", false)
	if len(cf) == 0 {
		t.Fatal("no CLOUDFRONT prefixes")
	}
	a := cf[0].Prefix.Addr().Next()
	s := startDNS(t, lab.DNSOptions{Addrs: []netip.Addr{a}})
	env := envFor(s.Addr)
	env.Cfg.Ranges = set
	r := runProbe(t, rangesMembership, env, webEndpoint("dd401jc05x2yk.cloudfront.net", 443))
	wantResult(t, r, Pass, "", []string{"CLOUDFRONT ranges"}, nil)
}

func TestMembershipSkipsUnresolved(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{Mode: lab.DNSNXDomain})
	env := envFor(s.Addr)
	env.Cfg.Ranges = embeddedRanges(t)
	r := runProbe(t, rangesMembership, env, turnEndpoint())
	wantResult(t, r, Skip, result.PhaseResolve, []string{"did not resolve", "see dns.resolve"}, nil)
}

func TestMembershipLabRanges(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{})
	env := envFor(s.Addr)
	env.Cfg.Ranges = lab.Ranges()
	env.Cfg.Lab = true
	r := runProbe(t, rangesMembership, env, turnEndpoint())
	wantResult(t, r, Pass, "", []string{"lab, createDate"}, nil)
}
