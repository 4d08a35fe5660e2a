package probe

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// Target is one thing a probe checks: an endpoint, and for credentialed
// TURN checks the ICE server and URL to use.
type Target struct {
	// Name is the target as reported (host:port or a URL; never a credential).
	Name     string
	Endpoint catalog.Endpoint
	// ICE and URL are set for credentialed TURN targets only.
	ICE *config.ICEServer
	URL config.TURNURL
}

// Probe is one kind of check. Run must return by the time ctx ends and
// must report network failures as Results, never panic.
type Probe struct {
	// Kind is the check's id and what renderers need to know of it (its
	// report layer, perfdata, chart); Registry declares it to package result.
	result.Kind
	// Budget is the probe's own timeout for one target, inside the run's
	// deadline; it may depend on the config (media runs for --duration).
	Budget func(*config.Config) time.Duration
	// Targets lists what to check; an empty list yields one skip result
	// with the reason from Why (e.g. "no TURN credentials given").
	Targets func(*config.Config) []Target
	// Why explains an empty target list (may be nil).
	Why func(*config.Config) string
	// Run checks one target.
	Run func(ctx context.Context, env *Env, t Target) Result
}

// Env is what probes share during one run. Safe for concurrent use.
type Env struct {
	Cfg *config.Config
	// DNS memoizes resolution so all probes of a run share one query per name.
	DNS *Resolver
	// Now is the clock (tests pin it); nil means time.Now.
	Now func() time.Time
	// sizes memoizes path.large-datagram's measurement per TURN server,
	// shared with media.relay (path_large_datagram_sizes.go).
	sizes sizeMemo
}

// NewEnv returns an Env for cfg with a fresh resolver cache.
func NewEnv(cfg *config.Config) *Env {
	return &Env{Cfg: cfg, DNS: NewResolver(cfg.Resolver), Now: time.Now}
}

func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// Deadline is the run's total time: the connectivity timeout, plus the
// media duration when a media probe runs, plus a grace for set-up.
func Deadline(cfg *config.Config, probes []Probe) time.Duration {
	var max time.Duration
	for _, p := range probes {
		if cfg.Skipped(p.ID) {
			continue
		}
		if b := p.Budget(cfg); b > max {
			max = b
		}
	}
	return max + runGrace
}

// runGrace is the margin between the longest probe budget and the run's
// deadline: time for goroutines to wind up and results to be collected.
const runGrace = 500 * time.Millisecond

// Run runs probes concurrently against their targets, each under its own
// budget inside ctx, and returns every result in registry order then target
// order. When ctx ends early (Ctrl-C) the probes still running return what
// they have, marked as cancelled. progress, if non-nil, is called after
// each result with done and total counts (from the calling goroutines;
// it must be safe for concurrent use).
func Run(ctx context.Context, env *Env, probes []Probe, progress func(done, total int)) []Result {
	type job struct {
		order, sub int
		p          Probe
		t          Target
	}
	var jobs []job
	var out []Result
	type keyed struct {
		order, sub int
		r          Result
	}
	var results []keyed
	for i, p := range probes {
		if env.Cfg.Skipped(p.ID) {
			continue
		}
		ts := p.Targets(env.Cfg)
		if len(ts) == 0 {
			why := "nothing to check"
			if p.Why != nil {
				why = p.Why(env.Cfg)
			}
			results = append(results, keyed{i, 0, Result{ID: p.ID, Status: Skip, Reason: why}})
			continue
		}
		for j, t := range ts {
			jobs = append(jobs, job{i, j, p, t})
		}
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		done int
	)
	for _, jb := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := runOne(ctx, env, jb.p, jb.t)
			mu.Lock()
			results = append(results, keyed{jb.order, jb.sub, r})
			done++
			d := done
			mu.Unlock()
			if progress != nil {
				progress(d, len(jobs))
			}
		}()
	}
	wg.Wait()
	sort.SliceStable(results, func(a, b int) bool {
		if results[a].order != results[b].order {
			return results[a].order < results[b].order
		}
		return results[a].sub < results[b].sub
	})
	for _, k := range results {
		out = append(out, k.r)
	}
	return out
}

func runOne(ctx context.Context, env *Env, p Probe, t Target) (r Result) {
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, p.Budget(env.Cfg))
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			r = Result{Status: Fail, Phase: result.PhaseInternal, Reason: fmt.Sprintf("probe %s crashed: %v (a bug: please report it)", p.ID, v)}
		}
		r.ID = p.ID
		if r.Target == "" {
			r.Target = t.Name
		}
		if r.DurationMS == 0 {
			r.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		}
		if ctx.Err() == context.Canceled && r.Status != Pass && r.Status != Skip {
			r.Status, r.Reason = Skip, "cancelled before it finished (interrupted)"
		}
	}()
	return p.Run(pctx, env, t)
}
