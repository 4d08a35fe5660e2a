package probe

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// fakeProbe is a probe with n targets whose Run is run.
func fakeProbe(id string, n int, budget time.Duration, run func(ctx context.Context) Result) Probe {
	return Probe{
		Kind:   result.Kind{ID: id},
		Budget: func(*config.Config) time.Duration { return budget },
		Targets: func(*config.Config) []Target {
			ts := make([]Target, n)
			for i := range ts {
				ts[i].Name = id + "-target-" + string(rune('a'+i))
			}
			return ts
		},
		Run: func(ctx context.Context, _ *Env, _ Target) Result { return run(ctx) },
	}
}

// TestRunReturnsAtItsDeadline (issue #15 item 5): a check that ignores its
// context (a bug, or a library that keeps retrying) no longer holds the
// run: Run returns at the deadline plus stragglerGrace, with that check
// reported as timed out and the others' results intact. Before the fix Run
// waited for every goroutine (10,000 ICE entries: > 75 s, killed with no
// output).
func TestRunReturnsAtItsDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := fakeProbe("test.stuck", 1, 100*time.Millisecond, func(ctx context.Context) Result {
		<-release // ignores ctx until the test ends
		return Result{Status: Pass}
	})
	fine := fakeProbe("test.fine", 2, 100*time.Millisecond, func(ctx context.Context) Result {
		return Result{Status: Pass}
	})
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	rs := Run(ctx, &Env{Cfg: &config.Config{}}, []Probe{stuck, fine}, nil)
	took := time.Since(start)
	// The stuck check would hold Run until the test ends; 5 s leaves a
	// loaded machine plenty of room over deadline + grace (0.55 s).
	if took > 5*time.Second {
		t.Fatalf("Run took %v: it waited for the stuck check", took)
	}
	if len(rs) != 3 {
		t.Fatalf("%d results, want 3: %+v", len(rs), rs)
	}
	if r := rs[0]; r.ID != "test.stuck" || r.Status != Fail || r.Phase != result.PhaseInternal || !strings.Contains(r.Reason, "timed out") || r.Target != "test.stuck-target-a" {
		t.Errorf("stuck check: %+v, want fail/internal timed out", r)
	}
	for _, r := range rs[1:] {
		if r.ID != "test.fine" || r.Status != Pass {
			t.Errorf("a check that returned lost its result: %+v", r)
		}
	}
}

// TestRunBoundsConcurrency: no more than runConcurrency checks run at
// once, and the checks that could not start before the deadline are
// reported as not run (timed out), not left out of the report.
func TestRunBoundsConcurrency(t *testing.T) {
	old := runConcurrency
	runConcurrency = 3
	defer func() { runConcurrency = old }()
	var running, peak atomic.Int32
	wait := fakeProbe("test.wait", 10, time.Second, func(ctx context.Context) Result {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-ctx.Done() // a well-behaved check: returns when its context ends
		return Result{Status: Fail, Reason: "no answer"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	rs := Run(ctx, &Env{Cfg: &config.Config{}}, []Probe{wait}, nil)
	if p := peak.Load(); p > 3 {
		t.Errorf("%d checks ran at once, want at most 3", p)
	}
	if len(rs) != 10 {
		t.Fatalf("%d results, want 10", len(rs))
	}
	notRun := 0
	for _, r := range rs {
		if r.Status == "" || r.ID != "test.wait" || r.Target == "" {
			t.Errorf("incomplete result %+v", r)
		}
		if strings.Contains(r.Reason, "not run") {
			notRun++
			if r.Status != Fail || r.Phase != result.PhaseSetup || r.Remedy == "" {
				t.Errorf("not-run result %+v: want fail/setup with a remedy", r)
			}
		}
	}
	if notRun != 7 {
		t.Errorf("%d checks reported as not run, want 7 (10 checks, 3 slots, each holding its slot to the deadline)", notRun)
	}
}

// TestRunInterruptedReportsCancelled: Ctrl-C (a cancelled ctx) reports the
// checks still running as cancelled (skip), not as failures.
func TestRunInterruptedReportsCancelled(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := fakeProbe("test.stuck", 1, time.Minute, func(ctx context.Context) Result {
		<-release
		return Result{Status: Pass}
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	rs := Run(ctx, &Env{Cfg: &config.Config{}}, []Probe{stuck}, nil)
	if len(rs) != 1 || rs[0].Status != Skip || !strings.Contains(rs[0].Reason, "interrupted") {
		t.Errorf("results %+v, want one skip: cancelled (interrupted)", rs)
	}
}
