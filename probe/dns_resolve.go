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
	Kind:    result.Kind{ID: "dns.resolve", Layer: result.LayerDNS, Who: result.WhoNetwork, Causes: dnsCauses},
	Budget:  capped(dnsBudget),
	Targets: allTargets,
	Run:     runDNS,
}

// dnsCauses are the root causes dns.resolve's results can show, most
// specific first (result.Cause): no name resolves at all; the instance's
// own name does not exist while others resolve (a mistyped alias, not a
// filter); third-party names that no longer exist (nothing to do); names
// a filter answers NXDOMAIN for; a DNS server that does not answer.
var dnsCauses = []result.Cause{
	{Phases: []string{result.PhaseResolve}, Details: []string{"answer"}, Scope: result.ScopeAll, Rank: 100, Who: result.WhoComputer,
		Title:  "Nothing resolves: this computer has no working DNS or internet connection",
		Remedy: "connect this computer to the internet and check it has a working DNS server (asked the {detail:resolver}: none of the {n} names the softphone needs resolved); on an office network, ask IT whether DNS is filtered or only a proxy may go out"},
	{Phases: []string{result.PhaseResolve}, Details: []string{"instance", "answer=" + DNSNXDomain}, Scope: result.ScopeSome, Rank: 90, Who: result.WhoConnectAdmin,
		Title:  "The instance name {detail:instance} does not exist: check the instance alias",
		Remedy: "check the instance alias: it is NAME in your CCP's address https://NAME.my.connect.aws/ccp-v2 (your Amazon Connect admin knows it); run again with --instance NAME ({targets}: no such name, while Connect's other names resolve)"},
	{Status: Warn, Details: []string{"published=no"}, Rank: -100, Who: result.WhoNone,
		Title:    "{n} TURN names reported by a third party (not by AWS) do not resolve",
		TitleOne: "The TURN name {target}, reported by a third party (not by AWS), does not resolve",
		Remedy:   "none needed if calls work: the name is not on AWS's published list ({targets})"},
	{Phases: []string{result.PhaseResolve}, Details: []string{"answer=" + DNSNXDomain}, Rank: 50,
		Title:    "{n} names the softphone needs do not resolve (NXDOMAIN): a DNS filter likely blocks them",
		TitleOne: "{target} does not resolve (NXDOMAIN): a DNS filter likely blocks it",
		Remedy:   "make the DNS server ({detail:resolver}) resolve these names AWS publishes (allow them in the DNS filter): {targets}"},
	{Phases: []string{result.PhaseResolve}, Details: []string{"answer=" + DNSTimeout}, Rank: 50,
		Title:  "The DNS server {detail:resolver} does not answer (UDP 53 dropped, or the server is down)",
		Remedy: "allow outbound UDP and TCP 53 to the DNS server {detail:resolver}, or configure a working DNS server (no answer for: {targets})"},
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
	if a := env.Cfg.Instance; a != "" {
		// The instance's own names: a mistyped alias does not exist.
		if h := strings.ToLower(e.Host); h == a+".my.connect.aws" || h == a+".awsapps.com" {
			r.SetDetail("instance", a)
		}
	}
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
	r.SetDetail("answer", ans.Kind)
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
			r.SetDetail("published", "no")
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
		// In plain words by kind (unreachable, refused, no answer…); the
		// error itself goes to the details.
		what := fmt.Sprintf("the DNS query for %s to %s", e.Host, server)
		if k := Classify(ans.Err); k != KindOther && k != KindNone {
			r.Reason = Explain(k, what)
		} else {
			r.Reason = what + " failed" + seeDetails
		}
		rawError(&r, ans.Err)
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
