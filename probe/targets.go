package probe

import (
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
)

// httpsTargets are the TCP 443 endpoints.
func httpsTargets(c *config.Config) []Target {
	var ts []Target
	for _, e := range c.HTTPS {
		ts = append(ts, Target{Name: e.Addr(), Endpoint: e})
	}
	return ts
}

// turnTargets are the TURN servers (UDP 3478).
func turnTargets(c *config.Config) []Target {
	var ts []Target
	for _, e := range c.TURN {
		ts = append(ts, Target{Name: e.Addr(), Endpoint: e})
	}
	return ts
}

// oneTarget is a single target for probes of the whole run.
func oneTarget(name string) func(*config.Config) []Target {
	return func(*config.Config) []Target { return []Target{{Name: name}} }
}

// fixed returns a budget that does not depend on the config.
func fixed(d time.Duration) func(*config.Config) time.Duration {
	return func(*config.Config) time.Duration { return d }
}

// timeout returns the run's --timeout as a budget.
func timeout(c *config.Config) time.Duration { return c.Timeout }
