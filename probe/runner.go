package probe

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
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
	// Asked, when not nil and false for the config, leaves the check out
	// of the run and the report entirely: an opt-in check that was not
	// asked for (the browser.* checks without --browser).
	Asked func(*config.Config) bool
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
	// Browser is the browser check's session (check --browser, StartBrowser);
	// nil when none runs.
	Browser BrowserSession

	board board // results as they finish, for Await

	// proxies chooses the proxy per URL (ProxyFor, proxy.go), built once.
	proxyOnce sync.Once
	proxies   *sysproxy.Resolver
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
		if !p.runs(cfg) {
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
// order. A probe left out by --skip gives one skip result saying so
// (SkippedReason); one not asked for (Probe.Asked) and not skipped gives none. When ctx is
// cancelled (Ctrl-C; whatever its cause) the probes still running return
// what they have and are marked skip, interrupted (see runOne); the caller
// tells the run is incomplete from ctx (Interrupted). At most
// runConcurrency checks run at once, and Run returns by ctx's end (plus
// stragglerGrace) whatever is still running: a check that has not returned
// by then is reported as timed out, one that never started as not run (see
// runJobs). progress, if non-nil, is called after each result with done
// and total counts (from the runner's goroutine; it must be safe for
// concurrent use).
func Run(ctx context.Context, env *Env, probes []Probe, progress func(done, total int)) []Result {
	var jobs []job
	var out []Result
	var results []keyed
	for i, p := range probes {
		if by := env.Cfg.SkippedBy(p.ID); by != "" {
			// Listed, so that every format says what was not tested.
			results = append(results, keyed{i, 0, Result{ID: p.ID, Status: Skip, Reason: SkippedReason(by)}})
			continue
		}
		if p.Asked != nil && !p.Asked(env.Cfg) {
			continue
		}
		ts := p.Targets(env.Cfg)
		if len(ts) == 0 {
			why := noTargets(env.Cfg)
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
	env.board.expect(func(yield func(string) bool) {
		for _, jb := range jobs {
			if !yield(jb.p.ID) {
				return
			}
		}
	})
	results = append(results, runJobs(ctx, env, jobs, progress)...)
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

// runs reports whether p runs on cfg: not left out by --skip, and asked.
func (p Probe) runs(cfg *config.Config) bool {
	return !cfg.Skipped(p.ID) && (p.Asked == nil || p.Asked(cfg))
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
		if interrupted(ctx) && r.Status != Skip {
			// Cut short: even a pass measured only part of what it should
			// (media for 3 s of --duration 20s). Keep what it saw as facts.
			if r.Reason != "" {
				r.SetDetail("partial_result", string(r.Status)+": "+r.Reason)
			}
			r.Status, r.Phase, r.Remedy = Skip, "", ""
			r.Reason = fmt.Sprintf("interrupted after %.1fs, before it finished: not tested", time.Since(start).Seconds())
		}
		softenOptional(&r, t.Endpoint)
	}()
	return p.Run(pctx, env, t)
}

// softenOptional turns a failure against an endpoint that softphone calls
// do not need (catalog.Endpoint.Optional: CCP v1's signaling host, chat)
// into a warning that says why: failing the run for it would be a false
// NOT READY.
func softenOptional(r *Result, e catalog.Endpoint) {
	if e.Optional == "" || r.Status != Fail {
		return
	}
	r.Status = Warn
	r.Reason += " (not needed for softphone calls: " + e.Optional + ")"
	r.SetDetail("optional", e.Optional)
}

// interrupted reports whether ctx was cancelled (Ctrl-C, a shutdown)
// rather than having reached its deadline. It reads ctx.Err, not
// context.Cause: signal.NotifyContext (Go 1.26) sets the signal as the
// cause, so a comparison of the cause with context.Canceled never matches.
func interrupted(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// Interrupted reports whether a run under ctx was cut short by a
// cancellation (Ctrl-C, a shutdown) rather than by its deadline: its
// report is incomplete. Call it once Run has returned.
func Interrupted(ctx context.Context) bool { return interrupted(ctx) }

// SkippedReason is the reason of a check left out by --skip prefix.
func SkippedReason(prefix string) string {
	return "not tested: left out by --skip " + prefix
}
