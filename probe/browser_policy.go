package probe

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/browserpolicy"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// policyBudget bounds browser.policy: reading a few files, registry keys
// or (macOS) plutil's output, no network.
const policyBudget = 2500 * time.Millisecond

// readPolicies reads the browsers' managed policies (tests replace it).
var readPolicies = browserpolicy.Read

// browserPolicy reads the enterprise policies of Chrome, Edge and
// Chromium that change WebRTC or the proxy, and says what each does to a
// softphone call, with the policy to change. A policy that keeps WebRTC
// off UDP (WebRtcIPHandling disable_non_proxied_udp) fails: Amazon
// Connect's TURN servers take UDP only, so no call connects although
// every network check passes. One result per browser with policies.
var browserPolicy = Probe{
	Kind:    result.Kind{ID: "browser.policy", Layer: result.LayerBrowser, Local: true},
	Budget:  fixed(policyBudget),
	Targets: policyTargets,
	Run:     runBrowserPolicy,
}

// noPolicies is the target when no browser has managed policies.
const noPolicies = "browsers"

func policyTargets(*config.Config) []Target {
	var ts []Target
	for _, b := range readPolicies() {
		if b.Set() {
			ts = append(ts, Target{Name: b.Name})
		}
	}
	if len(ts) == 0 {
		ts = []Target{{Name: noPolicies}}
	}
	return ts
}

func runBrowserPolicy(_ context.Context, _ *Env, t Target) Result {
	var b *browserpolicy.Browser
	for _, x := range readPolicies() {
		if x.Name == t.Name {
			b = &x
			break
		}
	}
	if b == nil {
		return Result{Status: Pass, Reason: "no managed policy of Google Chrome, Microsoft Edge or Chromium changes WebRTC or the proxy on this computer"}
	}
	r := Result{Status: Pass}
	fs := browserpolicy.Evaluate(*b)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Severity > fs[j].Severity })
	var bad, fine []string
	for _, f := range fs {
		r.SetDetail(f.Policy, fmt.Sprintf("%s (%s)", f.Value, f.Source))
		line := fmt.Sprintf("%s's policy %s = %s (%s): %s", b.Name, f.Policy, f.Value, f.Source, f.Effect)
		if f.Policy == "proxy" {
			line = fmt.Sprintf("%s's proxy policy (%s; %s): %s", b.Name, f.Value, f.Source, f.Effect)
		}
		switch f.Severity {
		case browserpolicy.Fail:
			r.Status, r.Phase = Fail, result.PhasePolicy
		case browserpolicy.Warn:
			if r.Status == Pass {
				r.Status, r.Phase = Warn, result.PhasePolicy
			}
		}
		if f.Severity == browserpolicy.Info {
			fine = append(fine, line)
			continue
		}
		bad = append(bad, line)
		if r.Remedy == "" {
			r.Remedy = f.Remedy
		}
	}
	for _, p := range b.Problems {
		bad = append(bad, p)
		if r.Status == Pass {
			r.Status, r.Phase = Warn, result.PhasePolicy
			r.Remedy = "fix or remove the policy source named"
		}
	}
	switch {
	case len(bad) > 0:
		r.Reason = strings.Join(bad, "; ")
	case len(fine) > 0:
		r.Reason = fmt.Sprintf("%s's policies do not stop softphone calls: %s", b.Name, strings.Join(fine, "; "))
	default:
		r.Reason = fmt.Sprintf("%s has managed policies, none about WebRTC or the proxy", b.Name)
	}
	return r
}
