package probe

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// tcpBudget bounds tcp.connect for one endpoint: the name's lookup, then
// the TCP connection, plus a margin to report. Through a proxy the name is
// the proxy's (usually a literal or cached) and the time goes to the
// connection to the proxy and its CONNECT answer.
const tcpBudget = resolveTimeout + connectTimeout + 200*time.Millisecond

// tcpConnect proves TCP 443 opens to each HTTPS endpoint, through the proxy
// that applies. Refused (a reset: something rejects), timeout (a silent
// drop), unreachable (no route) and permission (a local firewall) are told
// apart because the remedy differs.
var tcpConnect = Probe{
	Kind:    result.Kind{ID: "tcp.connect", Layer: result.LayerWeb, DependsOn: []string{"dns.resolve"}, Causes: tcpCauses},
	Budget:  capped(tcpBudget),
	Targets: httpsTargets,
	Run:     runTCP,
}

// tcpCauses: a proxy that refuses every tunnel, and no site opening at
// all, are one root cause each (result.Cause).
var tcpCauses = []result.Cause{
	{Phases: []string{result.PhaseProxy}, Scope: result.ScopeAll, Rank: 80,
		Title:  "The proxy refuses every connection to Amazon Connect",
		Remedy: "on the proxy ({address}), allow HTTPS tunnels (CONNECT) to port 443 of these {n} names, without authentication for them: {targets}"},
	{Phases: []string{result.PhaseConnect}, Scope: result.ScopeAll, Rank: 80,
		Title:  "No Amazon Connect site opens on TCP 443: this network blocks them or has no route to the internet",
		Remedy: "allow outbound TCP 443 to {targets} (or, where only a proxy may go out, set it: HTTPS_PROXY or proxy: in --config)"},
}

func runTCP(ctx context.Context, env *Env, t Target) Result {
	d, derr := dialEndpoint(ctx, env, t.Endpoint)
	if derr != nil {
		return derr.result()
	}
	defer d.Conn.Close()
	r := Result{Status: Pass, Address: d.Addr}
	r.SetMetric("connect_ms", ms(d.ConnectDur))
	if d.Proxy.URL != nil {
		r.SetMetric("proxy_connect_ms", ms(d.TunnelDur))
		r.SetDetail("proxy", d.Proxy.String())
		r.SetDetail("proxy_source", d.Proxy.Source)
		r.Reason = fmt.Sprintf("TCP %d opened through the proxy %s (from %s)", t.Endpoint.Port, d.Proxy, d.Proxy.Source)
	} else {
		r.Reason = fmt.Sprintf("TCP %d opened to %s", t.Endpoint.Port, d.Addr)
	}
	if len(d.Passed) > 0 {
		// A browser gets through too, but only after waiting on the dead
		// proxy for each new connection until it marks it bad.
		r.Status, r.Phase = Warn, result.PhaseProxy
		r.SetDetail("passed", strings.Join(d.Passed, "; "))
		r.Reason = fmt.Sprintf("%s, after: %s", r.Reason, strings.Join(d.Passed, "; "))
		r.Remedy = fmt.Sprintf("repair the proxies that could not be reached, or remove them from %s", d.Proxy.Source)
	}
	return r
}
