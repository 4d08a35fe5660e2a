package report

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// SummaryLines is the summary block, the few lines before the detail (like
// tailscale's netcheck): one [label, text] per line the checks declare
// (result.Kind.Summary: how many TURN servers answer on UDP 3478, the RTT
// to each, the NAT's mapping, the proxy, the media route), in report
// order, then IPv6 and this computer from the report's Environment.
func SummaryLines(r *Report) [][2]string {
	var out [][2]string
	var ids []string
	by := map[string][]result.Result{}
	for _, c := range r.Checks {
		if _, ok := by[c.ID]; !ok {
			ids = append(ids, c.ID)
		}
		by[c.ID] = append(by[c.ID], c)
	}
	// Media first (the softphone's own path), then the rest in report order.
	sort.SliceStable(ids, func(a, b int) bool { return summaryOrder(ids[a]) < summaryOrder(ids[b]) })
	for _, id := range ids {
		k, _ := result.KindOf(id)
		s := k.Summary
		if s == nil {
			continue
		}
		rs := by[id]
		if s.Label != "" && (s.Reach != "" || s.Detail != "") {
			var parts []string
			if s.Reach != "" {
				parts = append(parts, reach(rs, s.Reach))
			}
			if s.Detail != "" {
				parts = append(parts, detailValues(rs, s.Detail))
			}
			out = append(out, [2]string{s.Label, strings.Join(parts, "; ")})
		}
		if s.Metric != "" {
			if v := metricValues(rs, s.Metric); v != "" {
				out = append(out, [2]string{s.MetricLabel, v})
			}
		}
	}
	if e := r.Environment; e != nil {
		if e.IPv6 != "" {
			out = append(out, [2]string{"IPv6", e.IPv6})
		}
		var parts []string
		for _, p := range []string{e.Hostname, e.OS} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		if e.LocalIP != "" {
			ip := e.LocalIP
			if e.Interface != "" {
				ip += " on " + e.Interface
			}
			parts = append(parts, ip)
		}
		if len(parts) > 0 {
			out = append(out, [2]string{"This computer", strings.Join(parts, " · ")})
		}
	}
	return out
}

// summaryOrder puts the media path's lines first.
func summaryOrder(id string) int {
	switch k, _ := result.KindOf(id); k.Layer {
	case result.LayerMedia:
		return 0
	case result.LayerQuality:
		return 1
	}
	return 2
}

// reach is "all 5 TURN servers answer", "3 of 5 TURN servers answer",
// "blocked: none of the 5 TURN servers answers" or "not tested".
func reach(rs []result.Result, noun string) string {
	ran, passed := 0, 0
	for _, c := range rs {
		switch c.Status {
		case result.Pass, result.Warn:
			ran++
			passed++
		case result.Fail:
			ran++
		}
	}
	switch {
	case ran == 0:
		return "not tested (" + skipWhy(rs) + ")"
	case passed == ran && ran == 1:
		return "reachable: the " + strings.TrimSuffix(noun, "s") + " answers"
	case passed == ran:
		return fmt.Sprintf("reachable: all %d %s answer", ran, noun)
	case passed == 0:
		return fmt.Sprintf("blocked: none of the %d %s answers", ran, noun)
	}
	return fmt.Sprintf("%d of %d %s answer", passed, ran, noun)
}

// skipWhy is the first skipped result's reason, shortened.
func skipWhy(rs []result.Result) string {
	for _, c := range rs {
		if c.Status == result.Skip && c.Reason != "" {
			if c.Phase == result.PhaseResolve {
				return "the names did not resolve"
			}
			return firstSentence(c.Reason)
		}
	}
	return "skipped"
}

// detailValues lists the distinct values of a detail, in order, or "not
// tested".
func detailValues(rs []result.Result, key string) string {
	var vs []string
	for _, c := range rs {
		if v, ok := c.Details[key]; ok && v != "" && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		ran := false
		for _, c := range rs {
			ran = ran || c.Status != result.Skip
		}
		if ran {
			return "unknown"
		}
		return "not tested"
	}
	return strings.Join(vs, ", ")
}

// metricValues is "TurnNlb-d764… 12.1 ms · TurnNlb-31a7… 14.0 ms": each
// target's value of metric, targets named short.
func metricValues(rs []result.Result, metric string) string {
	var parts []string
	for _, c := range rs {
		v, ok := c.Metrics[metric]
		if !ok || !finite(v) || c.Status == result.Skip {
			continue
		}
		parts = append(parts, shortTarget(c.Target)+" "+metricText(metric, v))
	}
	return strings.Join(parts, " · ")
}

// metricText formats one metric value by its unit suffix.
func metricText(name string, v float64) string {
	switch {
	case strings.HasSuffix(name, "_ms"):
		if v < 1 {
			return fmt.Sprintf("%.2f ms", v)
		}
		return fmt.Sprintf("%.1f ms", v)
	case strings.HasSuffix(name, "_ratio"):
		return fmt.Sprintf("%.1f%%", v*100)
	}
	return fmt.Sprintf("%.2f", v)
}

// shortTarget is a target's first DNS label ("TurnNlb-d76454ac48d20c1e"
// for its load balancer name), or the target itself for an address.
func shortTarget(t string) string {
	h := hostOf(t)
	if h == "" {
		return t
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return t
	}
	label, _, _ := strings.Cut(h, ".")
	// Keep the case the target was given in (TurnNlb-…).
	if i := strings.Index(strings.ToLower(t), label); i >= 0 {
		return t[i : i+len(label)]
	}
	return label
}
