package probe

import (
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

// allTargets are the HTTPS endpoints then the TURN servers.
func allTargets(c *config.Config) []Target {
	return append(httpsTargets(c), turnTargets(c)...)
}

// turnTransport names a TURN URL's transport as users know it: "udp",
// "tcp", or "tls" for turns: URLs.
func turnTransport(u config.TURNURL) string {
	if u.Secure {
		return "tls"
	}
	return u.Transport
}

// noTargets is the reason a probe without a Why gives when it has no
// target: which of the config's lists are empty (an explicit empty
// https_endpoints: [] or turn_servers: [] means none).
func noTargets(c *config.Config) string {
	switch {
	case len(c.HTTPS) == 0 && len(c.TURN) == 0:
		return "nothing to check: the config lists no HTTPS endpoints (https_endpoints: []) and no TURN servers (turn_servers: [])"
	case len(c.HTTPS) == 0:
		return "nothing to check: the config lists no HTTPS endpoints (https_endpoints: [])"
	case len(c.TURN) == 0:
		return "nothing to check: the config lists no TURN servers (turn_servers: [])"
	}
	return "nothing to check"
}
