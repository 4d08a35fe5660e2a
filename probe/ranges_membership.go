package probe

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/ranges"
)

// membershipBudget bounds ranges.membership for one name: it reuses the
// run's shared lookup (dns.resolve's), then only looks addresses up in
// memory.
const membershipBudget = resolveTimeout + 200*time.Millisecond

// rangesMembership proves each resolved TURN and HTTPS address lies in the
// published ranges of its service (ip-ranges.json, Option 2 of the admin
// guide): AMAZON_CONNECT for TURN, EC2 or CLOUDFRONT for the web names
// (CLOUDFRONT for *.cloudfront.net). An address outside every AWS range
// means a DNS hijack, a proxy, or a stale list; one in AWS's AMAZON ranges
// but not in the service's means an IP allowlist built from Option 2 would
// miss it. Every result names the ranges data used.
var rangesMembership = Probe{
	Kind:    result.Kind{ID: "ranges.membership", Layer: result.LayerRanges, DependsOn: []string{"dns.resolve"}},
	Budget:  capped(membershipBudget),
	Targets: allTargets,
	Run:     runMembership,
}

// wantServices are the ip-ranges.json services an endpoint's addresses
// should be in for the Option 2 allowlist to cover it.
func wantServices(e catalog.Endpoint) []string {
	switch {
	case e.Service == catalog.AmazonConnect:
		return []string{string(catalog.AmazonConnect)}
	case strings.HasSuffix(strings.ToLower(e.Host), ".cloudfront.net"), e.Service == catalog.CloudFront:
		return []string{string(catalog.CloudFront)}
	}
	// Web and signaling names: the admin guide's Option 2 names EC2 and
	// CLOUDFRONT for TCP 443.
	return []string{string(catalog.EC2), string(catalog.CloudFront)}
}

func runMembership(ctx context.Context, env *Env, t Target) Result {
	e := t.Endpoint
	r := Result{Target: e.Host}
	set := env.Cfg.Ranges
	if set == nil {
		r.Status, r.Reason = Skip, "no ranges data loaded"
		return r
	}
	data := rangesData(set)
	r.SetDetail("ranges", data)
	ans := env.DNS.Lookup(ctx, e.Host)
	if ans.Err != nil {
		r.Status, r.Phase = Skip, result.PhaseResolve
		r.Reason = fmt.Sprintf("not tested: %s did not resolve (%s; see dns.resolve)", e.Host, ans.Kind)
		return r
	}
	want := wantServices(e)
	wantText := strings.Join(want, " or ")
	var in, amazonOnly, outside []string
	for _, a := range ans.Addrs {
		ps := set.Lookup(a)
		if p, ok := matchService(ps, want); ok {
			in = append(in, fmt.Sprintf("%s in %s %s (%s)", a, p.Service, p.Prefix, p.Region))
			continue
		}
		if p, ok := matchService(ps, []string{"AMAZON"}); ok {
			amazonOnly = append(amazonOnly, fmt.Sprintf("%s (in AMAZON %s, %s)", a, p.Prefix, p.Region))
			continue
		}
		outside = append(outside, a.String())
	}
	r.Address = ans.Addrs[0].String()
	r.SetMetric("addresses", float64(len(ans.Addrs)))
	r.SetMetric("outside_ranges", float64(len(outside)))
	if len(in) > 0 {
		r.SetDetail("matched", strings.Join(in, "; "))
	}
	switch {
	case len(outside) > 0:
		r.Status, r.Phase = Warn, result.PhaseRanges
		r.Reason = fmt.Sprintf("%s resolves to %s, outside every AWS range in the ranges data used (%s): a DNS hijack, a proxy answering for AWS, or a stale list",
			e.Host, strings.Join(outside, ", "), data)
		r.Remedy = fmt.Sprintf("compare with `nslookup %s` from another network: if the address is a proxy or DNS filter, exempt %s from it; if the list is old, run `ccp-preflight ranges update` or pass a newer file with --ranges", e.Host, e.Host)
	case len(amazonOnly) > 0:
		r.Status, r.Phase = Warn, result.PhaseRanges
		r.Reason = fmt.Sprintf("%s resolves to %s: AWS addresses, but not in the %s ranges (ranges data used: %s), so an IP allowlist built from AWS's Option 2 would block them",
			e.Host, strings.Join(amazonOnly, ", "), wantText, data)
		r.Remedy = fmt.Sprintf("allow %s by domain name (Option 1, which AWS recommends) rather than by %s ranges", e.Host, wantText)
	default:
		r.Status = Pass
		r.Reason = fmt.Sprintf("%s: every address is in the %s ranges (%s)", e.Host, wantText, data)
	}
	return r
}

// matchService returns the first entry whose service is one of want,
// preferring the earlier services of want and the longest prefix.
func matchService(ps []ranges.Prefix, want []string) (ranges.Prefix, bool) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Prefix.Bits() > ps[j].Prefix.Bits() })
	for _, w := range want {
		for _, p := range ps {
			if p.Service == w {
				return p, true
			}
		}
	}
	return ranges.Prefix{}, false
}

// rangesData names the ranges data used: its source and createDate.
func rangesData(s *ranges.Set) string {
	d := "no createDate"
	if !s.CreateDate.IsZero() {
		d = "createDate " + s.CreateDate.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return fmt.Sprintf("%s, %s", s.Source, d)
}
