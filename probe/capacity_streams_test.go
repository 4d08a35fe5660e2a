package probe

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/impair"
)

func TestCapacityNotAsked(t *testing.T) {
	cfg := testConfig(time.Second, startTURN(t))
	res := Run(context.Background(), NewEnv(cfg), []Probe{capacityStreams}, nil)
	if len(res) != 1 || res[0].Status != Skip || res[0].Reason != "not asked: --capacity N" {
		t.Fatalf("%+v", res)
	}
}

func TestCapacityWaitsForMedia(t *testing.T) {
	cfg := testConfig(5*time.Second, startTURN(t))
	cfg.Capacity = 10
	if w := capacityWait(cfg); w < cfg.Duration {
		t.Errorf("capacity waits %v while media.quality runs %v", w, cfg.Duration)
	}
	if b, m := capacityBudget(cfg), mediaBudget(cfg); b < m+4*capacityStepDuration {
		t.Errorf("capacity budget %v does not cover the media wait (%v) and 4 steps", b, m)
	}
	cfg.Skip = []string{"media"}
	if w := capacityWait(cfg); w != 0 {
		t.Errorf("waits %v with media skipped", w)
	}
}

func TestStepsUpTo(t *testing.T) {
	for n, want := range map[int]string{1: "[1]", 7: "[1 2 5 7]", 20: "[1 2 5 10 20]", 200: "[1 2 5 10 20 50 100 150 200]"} {
		if got := fmt.Sprint(stepsUpTo(n)); got != want {
			t.Errorf("stepsUpTo(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestCapacity steps up against a healthy server, a NAT whose port table
// holds 3 mappings, and an uplink policed to 400 packets a second (5 agents send 250, 10 send 500).
func TestCapacity(t *testing.T) {
	old := capacityStepTime
	capacityStepTime = time.Second
	t.Cleanup(func() { capacityStepTime = old })
	srv := startTURN(t)
	run := func(t *testing.T, c impair.Config, n int) Result {
		r := relayTo(t, srv, c)
		cfg := testConfig(time.Second, r.Addr())
		cfg.Capacity = n
		cfg.Skip = []string{"media"} // no wait for media.quality
		ctx, cancel := context.WithTimeout(context.Background(), capacityBudget(cfg))
		defer cancel()
		res := runCapacity(ctx, NewEnv(cfg), Target{Name: "TURN"})
		var steps []string
		for k, v := range res.Details {
			steps = append(steps, k+": "+v)
		}
		sort.Strings(steps)
		t.Logf("%s: %s | %s", res.Status, res.Reason, strings.Join(steps, " | "))
		return res
	}
	t.Run("healthy", func(t *testing.T) {
		res := run(t, impair.Config{}, 5)
		if res.Status != Pass || res.Metrics["streams_held"] != 5 || len(res.Series) != 3 {
			t.Fatalf("status %s metrics %v series %d", res.Status, res.Metrics, len(res.Series))
		}
	})
	t.Run("port table full", func(t *testing.T) {
		res := run(t, impair.Config{MaxSessions: 3}, 10)
		if res.Status != Fail || res.Metrics["streams_breach"] != 5 || res.Metrics["streams_held"] != 2 {
			t.Fatalf("status %s metrics %v", res.Status, res.Metrics)
		}
		if !strings.Contains(res.Reason, "at 5 concurrent streams (2 held) the NAT stopped mapping") || !strings.Contains(res.Remedy, "port pool") {
			t.Errorf("reason %q remedy %q", res.Reason, res.Remedy)
		}
	})
	t.Run("policed uplink", func(t *testing.T) {
		res := run(t, impair.Config{Up: impair.Direction{RatePPS: 400}}, 10)
		if res.Status != Fail || res.Metrics["streams_breach"] != 10 || res.Metrics["streams_held"] != 5 {
			t.Fatalf("status %s metrics %v", res.Status, res.Metrics)
		}
		if !strings.Contains(res.Reason, "packet loss across all streams") || !strings.Contains(res.Remedy, "100 kbit/s per agent") {
			t.Errorf("reason %q remedy %q", res.Reason, res.Remedy)
		}
	})
}
