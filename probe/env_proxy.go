package probe

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// proxyBudget bounds env.proxy: it only reads the configuration and the
// environment, no network.
const proxyBudget = 200 * time.Millisecond

// envProxy says, per HTTPS endpoint, which proxy the path would use: the
// configured one, HTTPS_PROXY (unless NO_PROXY exempts the host), or none.
// The web and signaling checks (tcp.connect, tls.handshake) go through the
// same proxy with HTTP CONNECT. Media (UDP 3478) never uses an HTTP proxy.
// Signaling names through a proxy warn: AWS notes that a proxy's WebSocket
// handling may break the CCP.
var envProxy = Probe{
	Kind:    result.Kind{ID: "env.proxy", Layer: result.LayerComputer, Local: true},
	Budget:  capped(proxyBudget),
	Targets: httpsTargets,
	Run:     runProxy,
}

// websocketHosts are the names the CCP keeps WebSockets open to (signaling)
// and that AWS names as sensitive to proxies' WebSocket handling.
var websocketHosts = []string{".transport.connect.", "rtc.connect-telecom.", "connect-telecom.", ".awsapps.com"}

func runProxy(ctx context.Context, env *Env, t Target) Result {
	e := t.Endpoint
	pc := proxyFor(env.Cfg, e.Host, e.Port)
	r := Result{Status: Pass}
	r.SetDetail("proxy", pc.String())
	r.SetDetail("source", pc.Source)
	switch {
	case pc.URL == nil && pc.Source == "NO_PROXY":
		r.Reason = fmt.Sprintf("direct: NO_PROXY exempts %s from the HTTPS_PROXY", e.Host)
	case pc.URL == nil:
		r.Reason = "direct: no proxy configured (none in --config, HTTPS_PROXY unset)"
		if pc.Source == "lab" {
			r.Reason = "direct: lab mode ignores HTTPS_PROXY (the lab's names exist only in its own DNS)"
		}
	default:
		r.Reason = fmt.Sprintf("through the proxy %s (from %s); tcp.connect and tls.handshake test that path with CONNECT", pc, proxySource(pc))
		for _, w := range websocketHosts {
			if strings.Contains(strings.ToLower(e.Host), w) {
				r.Status, r.Phase = Warn, result.PhaseProxy
				r.Reason = fmt.Sprintf("%s carries the softphone's signaling WebSocket through the proxy %s: AWS notes a proxy's WebSocket handling may break the CCP", e.Host, pc)
				r.Remedy = fmt.Sprintf("exempt %s from the proxy (add it to NO_PROXY / the PAC file's DIRECT list), or make sure the proxy passes WebSockets without idle time-outs or inspection", e.Host)
				break
			}
		}
	}
	return r
}
