package probe

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// proxyBudget bounds env.proxy for one endpoint: evaluating the PAC for
// its URL (its dnsResolve lookups included, within the PAC time limit).
// The settings were read and the PAC fetched before the checks started
// (Env.PrepareProxies).
const proxyBudget = sysproxy.DefaultPACTime + 500*time.Millisecond

// envProxy says, per HTTPS endpoint, which proxy (or DIRECT) the browser's
// configuration on this computer chooses and where that came from: the
// config file's proxy: or proxy_pac:, else the system settings (Windows
// Internet Settings, macOS, GNOME or the environment) with their PAC or
// WPAD. tcp.connect and tls.handshake go the same way. Media (UDP 3478)
// never uses an HTTP proxy. It warns when the configuration is broken (a
// PAC that cannot be fetched or run: the browser goes DIRECT) and when a
// signaling name goes through a proxy (AWS notes that a proxy's WebSocket
// handling may break the CCP).
var envProxy = Probe{
	Kind:    result.Kind{ID: "env.proxy", Layer: result.LayerComputer, Who: result.WhoNetwork, Summary: &result.Summary{Label: "Proxy", Detail: "proxy"}, Local: true},
	Budget:  capped(proxyBudget),
	Targets: httpsTargets,
	Run:     runProxy,
}

// websocketHosts are the names the CCP keeps WebSockets open to (signaling)
// and that AWS names as sensitive to proxies' WebSocket handling.
var websocketHosts = []string{".transport.connect.", "rtc.connect-telecom.", "connect-telecom.", ".awsapps.com"}

func runProxy(ctx context.Context, env *Env, t Target) Result {
	e := t.Endpoint
	pc := proxyFor(ctx, env, e)
	c := pc.Choice
	r := Result{Status: Pass}
	r.SetDetail("proxy", pc.String())
	r.SetDetail("source", c.Source)
	r.SetDetail("origin", c.Origin)
	r.SetDetail("hops", c.String())
	if c.PAC != "" {
		r.SetDetail("pac", c.PAC)
	}
	if from := env.ProxySettings().From; from != "" {
		r.SetDetail("settings", from)
	}
	rest := ""
	if len(c.Hops) > 1 {
		var more []string
		for _, h := range c.Hops[1:] {
			more = append(more, h.String())
		}
		rest = "; then " + strings.Join(more, ", then ") + " if it cannot be reached"
	}
	switch {
	case c.Origin == "lab":
		r.Reason = "direct: lab mode uses no proxy (the lab's names exist only in its own DNS)"
	case !c.Proxied() && c.Origin == "bypass":
		r.Reason = fmt.Sprintf("direct: %s exempts %s from the proxy", c.Source, e.Host)
	case !c.Proxied() && (c.Origin == "pac" || c.Origin == "wpad"):
		r.Reason = fmt.Sprintf("DIRECT, chosen by %s%s", c.Source, rest)
	case !c.Proxied():
		r.Reason = "direct: " + c.Source
	default:
		r.Reason = fmt.Sprintf("through the proxy %s (from %s)%s; tcp.connect and tls.handshake test that path", pc, c.Source, rest)
	}
	if c.Warning != "" {
		r.Status, r.Phase = Warn, result.PhaseProxy
		r.Reason = c.Warning
		r.Remedy = "fix the proxy configuration (browsers on this computer meet the same problem and go the same way): " + pacRemedy(c)
		return r
	}
	if c.Proxied() {
		for _, w := range websocketHosts {
			if strings.Contains(strings.ToLower(e.Host), w) {
				r.Status, r.Phase = Warn, result.PhaseProxy
				r.Reason = fmt.Sprintf("%s carries the softphone's signaling WebSocket through the proxy %s (from %s): AWS notes a proxy's WebSocket handling may break the CCP", e.Host, pc, c.Source)
				r.Remedy = fmt.Sprintf("exempt %s from the proxy (the PAC's DIRECT list, the bypass list, or NO_PROXY), or make sure the proxy passes WebSockets without idle time-outs or inspection", e.Host)
				break
			}
		}
	}
	return r
}

// pacRemedy says what to fix for a choice with a warning.
func pacRemedy(c sysproxy.Choice) string {
	switch {
	case c.PAC != "" && strings.Contains(c.Warning, "could not be fetched"):
		return fmt.Sprintf("make the PAC %s reachable from this computer (DIRECT, not through a proxy)", c.PAC)
	case c.PAC != "":
		return fmt.Sprintf("correct the PAC %s so that FindProxyForURL returns \"PROXY host:port\" or \"DIRECT\" quickly", c.PAC)
	case strings.Contains(c.Warning, "WPAD"):
		return "publish wpad.DOMAIN (and http://wpad.DOMAIN/wpad.dat) for this computer's DNS domain, or turn off \"automatically detect settings\" and set the PAC URL or proxy"
	}
	return "correct the proxy settings named above"
}
