// Budget helpers: each Probe's Budget is one of these, inside the run's
// deadline (Deadline, runner.go; TestBudgetsFit proves each fits), and ms
// turns the durations measured into metrics.

package probe

import (
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
