package report

import (
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// TestSiteLimitHeadline: a capacity shortfall (a site check) makes the run
// READY WITH WARNINGS naming the site's limit, never "NOT READY … calls will
// fail from this network"; a failed per-computer check still does.
func TestSiteLimitHeadline(t *testing.T) {
	capacity := result.Result{ID: "capacity.streams", Target: "turn1:3478", Status: result.Fail, Phase: result.PhaseCapacity,
		Reason: "this site carried 20 concurrent calls; at 50 concurrent streams packet loss across all streams 4% is above the fail threshold 3%"}
	ok := result.Result{ID: "stun.binding", Target: "turn1:3478", Status: result.Pass}
	checks := []result.Result{ok, capacity}
	r := &Report{Checks: checks, Verdict: result.Verdict(checks)}
	if r.Verdict != result.Warn {
		t.Fatalf("verdict %s with only a site check failing, want warn", r.Verdict)
	}
	h := Headline(r)
	for _, want := range []string{"READY WITH WARNINGS", "1 check(s)", "Site limit", "not this computer", "carried 20 concurrent calls"} {
		if !strings.Contains(h, want) {
			t.Errorf("headline %q lacks %q", h, want)
		}
	}
	if strings.Contains(h, "NOT READY") || strings.Contains(h, "will fail") {
		t.Errorf("headline blames this computer for a site limit: %q", h)
	}

	bad := result.Result{ID: "stun.binding", Target: "turn2:3478", Status: result.Fail}
	checks = []result.Result{ok, bad, capacity}
	r = &Report{Checks: checks, Verdict: result.Verdict(checks)}
	if h := Headline(r); r.Verdict != result.Fail || !strings.HasPrefix(h, "NOT READY") || !strings.Contains(h, "Site limit") {
		t.Errorf("verdict %s headline %q, want NOT READY (stun.binding failed) and the site note", r.Verdict, h)
	}
}
