package probe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/ranges"
	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestFreshness(t *testing.T) {
	set, err := ranges.Open(ranges.SourceEmbedded)
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	published := set.CreateDate // 2026-08-22 15:17:05 UTC
	for _, tc := range []struct {
		name   string
		now    time.Time
		status Status
		want   []string
	}{
		{"fresh", published.Add(5 * day), Pass, []string{"5 days old", "within AWS's 30-day notice"}},
		{"approaching", published.Add(25 * day), Warn, []string{"25 days old", "in 5 days", "ccp-preflight ranges update"}},
		{"past notice", published.Add(31 * day), Warn, []string{"31 days old", "30 days", "ccp-preflight ranges update"}},
		// The day this was written: the embedded copy is stale, and says so.
		{"embedded today", time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), Warn, []string{"93 days old", "the copy built into this program", "2026-08-22"}},
		{"future", published.Add(-10 * day), Warn, []string{"in the future", "clock"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := &Env{Cfg: &config.Config{Ranges: set}, Now: func() time.Time { return tc.now }}
			r := runOne(context.Background(), env, rangesFreshness, Target{Name: "ranges"})
			if r.Status != tc.status {
				t.Fatalf("status = %s, want %s (reason %q)", r.Status, tc.status, r.Reason)
			}
			text := r.Reason + " | " + r.Remedy
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("result %q lacks %q", text, w)
				}
			}
			if r.Status != Pass && (r.Remedy == "" || r.Phase != result.PhaseFreshness) {
				t.Errorf("a %s needs a remedy and phase: %+v", r.Status, r)
			}
			if r.ID != "ranges.freshness" || r.Metrics["age_s"] == 0 {
				t.Errorf("id/metrics wrong: %+v", r)
			}
		})
	}
}

func TestFreshnessSkipsWithoutData(t *testing.T) {
	env := &Env{Cfg: &config.Config{Lab: true}}
	r := runOne(context.Background(), env, rangesFreshness, Target{Name: "ranges"})
	if r.Status != Skip || !strings.Contains(r.Reason, "no ranges data") {
		t.Fatalf("got %+v, want a skip saying no ranges data", r)
	}
}
