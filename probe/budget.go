// Budget helpers: each Probe's Budget is one of these, inside the run's
// deadline (Deadline, runner.go; TestBudgetsFit proves each fits), and ms
// turns the durations measured into metrics.

package probe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
)

// capped returns a budget of d, never more than the run's --timeout.
func capped(d time.Duration) func(*config.Config) time.Duration {
	return func(c *config.Config) time.Duration {
		if c != nil && c.Timeout > 0 && c.Timeout < d {
			return c.Timeout
		}
		return d
	}
}

// ms is d in milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fixed returns a budget that does not depend on the config.
func fixed(d time.Duration) func(*config.Config) time.Duration {
	return func(*config.Config) time.Duration { return d }
}

// timeout returns the run's --timeout as a budget.
func timeout(c *config.Config) time.Duration { return c.Timeout }

// udpProbeBudget is the time a UDP STUN probe (stun.binding,
// turn.auth-challenge, path.large-datagram, nat.mapping) may take for one
// target. Why 2.5 s: with every TURN server blackholed the verdict must
// come within 3.5 s (docs/UDP-CHECKS.md; netcheck takes 5 s, pion's retries ~8 s, the
// CCP's own ICE gathering 8 s); 2.5 s plus the runner's 0.5 s grace leaves
// half a second for DNS and start-up. It holds 4 transmissions on the
// default schedule (0, 0.25, 0.75, 1.75 s), so up to 3 lost datagrams on a
// healthy path still give an answer, and replies as slow as 750 ms count.
const udpProbeBudget = 2500 * time.Millisecond

// udpBudget is a UDP probe's budget: udpProbeBudget, or --timeout when
// that is shorter.
func udpBudget(c *config.Config) time.Duration {
	if c != nil && c.Timeout > 0 && c.Timeout < udpProbeBudget {
		return c.Timeout
	}
	return udpProbeBudget
}

// silentLimit is the time a TURN exchange gets before its server has
// answered anything: a blackholed server is reported within the 3.5 s
// target (docs/UDP-CHECKS.md) with the runner's 0.5 s grace.
const silentLimit = 3 * time.Second

// pathScaledLimit is the time an exchange of rounds round trips may take
// once the server answered a first request in rtt (0: not yet): silentLimit
// (or --timeout when shorter) until then; afterwards rounds × rtt, at least
// that and at most relayICELimit (the CCP's own ICE limit: a set-up slower
// than that fails in the CCP too), raised to --timeout when that is longer.
// A slow path that answers gets what a browser would give it; a silent one
// is reported fast.
func pathScaledLimit(c *config.Config, rtt time.Duration, rounds int) time.Duration {
	base := capped(silentLimit)(c)
	if rtt <= 0 {
		return base
	}
	d := min(max(time.Duration(rounds)*rtt, base), relayICELimit)
	if c != nil && c.Timeout > d {
		d = c.Timeout
	}
	return d
}

// errPathLimit is the cause of a context a pathLimit ended.
var errPathLimit = fmt.Errorf("the check's path-scaled time limit ended: %w", context.DeadlineExceeded)

// pathLimit ends a check's context at its limit, which starts at the
// silent one and grows with the round trips the path shows (Seen).
// Safe for concurrent use.
type pathLimit struct {
	cfg    *config.Config
	rounds int
	start  time.Time
	cancel context.CancelCauseFunc
	timer  *time.Timer

	mu    sync.Mutex
	rtt   time.Duration
	limit time.Duration
}

// withPathLimit returns ctx limited by a pathLimit of rounds round trips
// (pathScaledLimit), and the limit. Call Stop when the check is done.
func withPathLimit(ctx context.Context, c *config.Config, rounds int) (context.Context, *pathLimit) {
	ctx, cancel := context.WithCancelCause(ctx)
	l := &pathLimit{cfg: c, rounds: rounds, start: time.Now(), cancel: cancel, limit: pathScaledLimit(c, 0, rounds)}
	l.timer = time.AfterFunc(l.limit, func() { cancel(errPathLimit) })
	return ctx, l
}

// Seen records a round trip the path showed (a TCP connect, a TLS
// handshake, the first STUN answer); the limit follows the largest seen.
// The largest, not the first: a middlebox that accepts TCP itself (a
// transparent proxy, a VPN client) answers the SYN in microseconds while
// the server behind it is a second away.
func (l *pathLimit) Seen(rtt time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rtt <= l.rtt {
		return
	}
	l.rtt = rtt
	if d := pathScaledLimit(l.cfg, rtt, l.rounds); d != l.limit {
		l.limit = d
		l.timer.Reset(time.Until(l.start.Add(d)))
	}
}

// State is the largest round trip seen (0: none) and the limit in force.
func (l *pathLimit) State() (rtt, limit time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rtt, l.limit
}

// Slow reports whether the path's round trip raised the limit: the
// exchange's rounds take longer than the silent limit. On a fast path a
// limit that ends means lost datagrams, not a slow path.
func (l *pathLimit) Slow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rtt > 0 && time.Duration(l.rounds)*l.rtt > pathScaledLimit(l.cfg, 0, l.rounds)
}

// Stop releases the timer and the context.
func (l *pathLimit) Stop() {
	l.timer.Stop()
	l.cancel(context.Canceled)
}

// limitEnded reports whether ctx ended because a pathLimit (or a
// deadline) ran out, rather than by an interruption.
func limitEnded(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded)
}
