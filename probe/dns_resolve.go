package probe

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/catalog"
)

// dnsBudget bounds dns.resolve for one name: the lookup's own limit
// (resolveTimeout, which covers a retry) plus a margin to report.
const dnsBudget = resolveTimeout + 200*time.Millisecond

// dnsResolve proves each name the CCP needs (the HTTPS endpoints and the
// TURN servers) resolves, with the system resolver or the configured one.
// NXDOMAIN, SERVFAIL, REFUSED, timeout and "no address" are told apart, and
// a name resolving to a private, loopback or link-local address is flagged
// as split-horizon DNS or a hijack (loopback is expected in lab mode).
// The answers are shared with every other probe through env.DNS.
var dnsResolve = Probe{
	Kind:    result.Kind{ID: "dns.resolve", Layer: result.LayerDNS},
	Budget:  capped(dnsBudget),
	Targets: allTargets,
	Run:     runDNS,
}

func runDNS(ctx context.Context, env *Env, t Target) Result {
	e := t.Endpoint
	r := Result{Target: e.Host}
	if _, err := netip.ParseAddr(strings.Trim(e.Host, "[]")); err == nil {
		r.Status, r.Reason = Skip, e.Host+" is an IP address: nothing to resolve"
		return r
	}
	ans := env.DNS.Lookup(ctx, e.Host)
	r.SetDetail("resolver", ans.Server)
	r.SetMetric("rtt_ms", ms(ans.RTT))
	if ans.Err != nil {
		return dnsFailure(r, env, e, ans)
	}
	var addrs []string
	var odd []string
	for _, a := range ans.Addrs {
		addrs = append(addrs, a.String())
		if kind := specialAddr(a); kind != "" && !(env.Cfg.Lab && a.IsLoopback()) {
			odd = append(odd, fmt.Sprintf("%s (%s)", a, kind))
		}
	}
	r.Address = ans.Addrs[0].String()
	r.SetDetail("addresses", strings.Join(addrs, ", "))
	r.SetMetric("addresses", float64(len(addrs)))
	if len(ans.Foreign) > 0 {
		r.SetDetail("foreign_records", strings.Join(ans.Foreign, "; "))
		r.Status, r.Phase = Warn, result.PhaseResolve
		r.Reason = fmt.Sprintf("%s resolves to %s, but the DNS server %s also answered with records for another name (%s), which were ignored: a spoofed answer, or a broken resolver or DNS filter", e.Host, strings.Join(addrs, ", "), ans.Server, strings.Join(ans.Foreign, "; "))
		r.Remedy = remedyForeign(ans.Server, e.Host)
		return r
	}
	if len(odd) > 0 {
		r.Status, r.Phase = Warn, result.PhaseResolve
		r.Reason = fmt.Sprintf("%s resolves to %s: a public AWS name should have public addresses, so this is split-horizon DNS, a DNS filter or a hijack answering in AWS's place", e.Host, strings.Join(odd, ", "))
		r.Remedy = fmt.Sprintf("make the DNS server (%s) return AWS's public answer for %s: remove the local override or exempt the name from the DNS filter", ans.Server, e.Host)
		return r
	}
	r.Status = Pass
	r.Reason = fmt.Sprintf("%s resolves to %s", e.Host, strings.Join(addrs, ", "))
	return r
}

// dnsFailure describes a failed lookup per its kind.
func dnsFailure(r Result, env *Env, e catalog.Endpoint, ans Answer) Result {
	r.Status, r.Phase = Fail, result.PhaseResolve
	server := ans.Server
	use := "the softphone's media (TURN)"
	if e.Port != 3478 || e.Service != catalog.AmazonConnect {
		use = "the CCP (" + e.Purpose + ")"
		if e.Purpose == "" {
			use = "the CCP"
		}
	}
	allow := fmt.Sprintf("make sure the DNS server (%s) resolves %s, needed by %s; if a DNS filter blocks it, allow the domain", server, e.Host, use)
	switch ans.Kind {
	case DNSNXDomain:
		r.Reason = fmt.Sprintf("%s does not exist according to %s (NXDOMAIN)", e.Host, server)
		r.Remedy = allow + " (a filter answering NXDOMAIN is the usual cause, since AWS publishes this name)"
		if e.Unconfirmed {
			r.Status = Warn
			r.Reason += "; this name was reported by a third party, not published by AWS, and may no longer exist"
			r.Remedy = "none needed if calls work: the name is not on AWS's published list"
		}
		if strings.Contains(e.Purpose, "configured") {
			r.Remedy = "check the name in --config is spelled right, or " + allow
		}
	case DNSServFail:
		r.Reason = fmt.Sprintf("the DNS server %s failed to get an answer for %s (SERVFAIL): it cannot reach AWS's name servers, or DNSSEC validation failed", server, e.Host)
		r.Remedy = fmt.Sprintf("let the DNS server (%s) reach the internet's name servers (outbound UDP and TCP 53), or use another resolver; %s", server, allow)
		if server == "system resolver" {
			r.Reason = fmt.Sprintf("this computer's DNS server failed or refused to answer for %s (SERVFAIL or REFUSED: the system resolver does not say which)", e.Host)
			r.Remedy = "set `resolver:` in --config to this network's DNS server to tell the two apart; " + r.Remedy
		}
	case DNSRefused:
		r.Reason = fmt.Sprintf("the DNS server %s refused to answer for %s (REFUSED): it does not serve this computer or this name", server, e.Host)
		r.Remedy = fmt.Sprintf("use a DNS server that allows recursive queries from this computer (the configured %s does not), or %s", server, allow)
	case DNSTimeout:
		r.Reason = fmt.Sprintf("no answer from the DNS server %s for %s within %v: the server is down or DNS (UDP 53) is dropped on the way", server, e.Host, resolveTimeout)
		r.Remedy = fmt.Sprintf("allow outbound UDP and TCP 53 to the DNS server %s, or configure a working DNS server", server)
	case DNSNoData:
		r.Reason = fmt.Sprintf("%s exists but has no address record (no A or AAAA) at %s", e.Host, server)
		r.Remedy = allow + " with its A records (a filter stripping records, or an IPv6-only resolver answer)"
	case DNSMismatch:
		r.SetDetail("foreign_records", strings.Join(ans.Foreign, "; "))
		r.Reason = fmt.Sprintf("the DNS server %s answered the question for %s only with records for another name (%s): a spoofed answer, or a broken resolver or DNS filter; those addresses were not used", server, e.Host, strings.Join(ans.Foreign, "; "))
		r.Remedy = remedyForeign(server, e.Host)
	case DNSCancelled:
		r.Status, r.Reason, r.Phase = Skip, "cancelled before the lookup finished (interrupted)", ""
	default:
		r.Reason = fmt.Sprintf("looking up %s with %s failed: %v", e.Host, server, ans.Err)
		r.Remedy = fmt.Sprintf("check this computer's DNS settings (%s); %s", server, allow)
	}
	return r
}

// specialAddr names why an address cannot be a public AWS endpoint, or "".
func specialAddr(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsUnspecified():
		return "unspecified, a DNS block page"
	case a.Is4() && netip.MustParsePrefix("100.64.0.0/10").Contains(a):
		return "carrier-grade NAT"
	case a.IsMulticast():
		return "multicast"
	}
	return ""
}

// remedyForeign is the fix when a DNS server answered for another name.
func remedyForeign(server, host string) string {
	return fmt.Sprintf("make this computer ask its network's real DNS server (%s answered for another name) and find what rewrites DNS answers on the path (a DNS filter, a router's DNS proxy, malware); %s must resolve to its own records or through its CNAME chain", server, host)
}
