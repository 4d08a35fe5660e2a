package probe

// The runner's bounds: how many checks run at once, and how it returns at
// the run's deadline whatever a check does (see Run).

import (
	"context"
	"fmt"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// runConcurrency bounds the checks running at once. A catalog run has
// about 75 (11 endpoints × the checks of each), and a run at the config's
// target caps a few hundred, most of them done in milliseconds (the DNS
// answers are shared); the long ones (media, at most 16 + 8) fit many
// times over. It is a variable for tests.
var runConcurrency = 128

// stragglerGrace is how long Run waits, once ctx has ended, for checks
// still running (each must return when its context ends: usually within
// milliseconds) before it reports them as timed out and returns.
const stragglerGrace = 250 * time.Millisecond

// job is one probe against one target; order and sub place its result.
type job struct {
	order, sub int
	p          Probe
	t          Target
}

// keyed is a result with its place in the report.
type keyed struct {
	order, sub int
	r          Result
}

// runJobs runs jobs, at most runConcurrency at once, and returns one
// result per job. It returns when every job has returned, or stragglerGrace
// after ctx ends, whichever comes first: a job still running then is
// reported as timed out (a check overrunning its budget: a bug), a job that
// never got to start as not run, or as cancelled when ctx was cancelled
// (Ctrl-C) rather than timed out. Jobs left running finish in the
// background; their results are dropped.
func runJobs(ctx context.Context, env *Env, jobs []job, progress func(done, total int)) []keyed {
	type done struct {
		i int
		r Result
	}
	out := make(chan done, len(jobs)) // never blocks a straggler
	slots := make(chan struct{}, max(runConcurrency, 1))
	started := make([]bool, len(jobs)) // by the collector, from startedCh
	startedCh := make(chan int, len(jobs))
	go func() {
		// The feeder starts jobs in order as slots free up, and stops
		// starting when ctx ends.
		for i, jb := range jobs {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if ctx.Err() != nil {
				<-slots
				return
			}
			startedCh <- i
			go func() {
				defer func() { <-slots }()
				r := runOne(ctx, env, jb.p, jb.t)
				env.board.post(r) // for checks that Await this one
				out <- done{i, r}
			}()
		}
	}()
	res := make([]keyed, 0, len(jobs))
	got := make([]bool, len(jobs))
	var grace <-chan time.Time
	ctxDone := ctx.Done()
	for n := 0; n < len(jobs); {
		select {
		case i := <-startedCh:
			started[i] = true
		case d := <-out:
			got[d.i] = true
			n++
			res = append(res, keyed{jobs[d.i].order, jobs[d.i].sub, d.r})
			if progress != nil {
				progress(n, len(jobs))
			}
		case <-ctxDone:
			ctxDone = nil
			t := time.NewTimer(stragglerGrace)
			defer t.Stop()
			grace = t.C
		case <-grace:
			for len(startedCh) > 0 {
				started[<-startedCh] = true
			}
			for i, jb := range jobs {
				if !got[i] {
					res = append(res, keyed{jb.order, jb.sub, unfinished(ctx, env, jb, started[i], len(jobs))})
				}
			}
			return res
		}
	}
	return res
}

// unfinished is the result of a job that did not return by the run's end:
// cancelled (interrupted), timed out while running, or never started.
func unfinished(ctx context.Context, env *Env, jb job, started bool, total int) Result {
	r := Result{ID: jb.p.ID, Target: jb.t.Name}
	switch {
	case context.Cause(ctx) == context.Canceled:
		r.Status, r.Reason = Skip, "cancelled before it finished (interrupted)"
	case started:
		r.Status, r.Phase = Fail, result.PhaseInternal
		r.Reason = fmt.Sprintf("timed out: the check did not return within its budget (%v) and was cut off at the run's deadline (a bug: please report it)", jb.p.Budget(env.Cfg).Round(time.Millisecond))
	default:
		r.Status, r.Phase = Fail, result.PhaseSetup
		r.Reason = fmt.Sprintf("timed out: not run, the run's deadline came before it could start (%d checks, at most %d at a time)", total, runConcurrency)
		r.Remedy = "check fewer targets at once (https_endpoints, turn_servers, ICE servers), or give a longer --timeout"
	}
	return r
}
