package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/browserpolicy"
	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// ProxyPrepareBudget bounds Env.PrepareProxies: reading the system
// settings, WPAD's DNS lookups, fetching one PAC and loading it. It is
// spent before the checks start (preflight.Run), and only when the
// configuration names a PAC or auto-detection; otherwise preparing takes
// no time.
const ProxyPrepareBudget = sysproxy.PrepareBudget

// proxyChoice is the way a connection to one endpoint goes: the browser
// configuration's choice (the hops to try in order, where it came from),
// and, once dialled, the hop that was used.
type proxyChoice struct {
	// URL is the proxy in use, without user information: the first hop
	// before dialling, the hop that connected after; nil for DIRECT.
	URL *url.URL
	// Source says where the choice came from, for people: "HTTPS_PROXY",
	// "the PAC http://pac.corp/proxy.pac (from the config file)", "WPAD:
	// the PAC http://wpad.corp/wpad.dat", "Windows Internet Settings",
	// "no proxy configured in the environment", "lab".
	Source string
	// Choice is the whole choice: every hop in order, its origin and PAC,
	// and a warning when the configuration failed (a broken PAC).
	Choice sysproxy.Choice
}

// String names the proxy in use without credentials ("direct" when none).
func (p proxyChoice) String() string {
	if p.URL == nil {
		return "direct"
	}
	return sysproxy.Redact(p.URL)
}

// ProxyFor returns the way the browser's configuration on this computer
// sends a connection to rawURL (https://host[:port]/…): the proxies (or
// DIRECT) to try in order and where that choice came from (the config
// file's proxy:, proxy_pac:, the system settings with their PAC or WPAD,
// the environment). It never fails: a broken PAC gives DIRECT with
// Choice.Warning, as a browser goes DIRECT. Hops may carry no user
// information; credentials are in Cfg.ProxyAuth. Safe for concurrent use;
// the first call prepares the configuration (PrepareProxies) if that was
// not done.
func (e *Env) ProxyFor(ctx context.Context, rawURL string) sysproxy.Choice {
	if e.labDirect() {
		return sysproxy.Choice{Hops: []sysproxy.Hop{sysproxy.Direct}, Origin: "lab", Source: "lab"}
	}
	return e.proxyResolver().For(ctx, rawURL)
}

// proxyMode is the run's proxy mode: Cfg.ProxyMode, or for a Config built
// by hand without one, fixed when Cfg.Proxy is set and system otherwise.
func (e *Env) proxyMode() sysproxy.Mode {
	switch {
	case e.Cfg.ProxyMode != "":
		return e.Cfg.ProxyMode
	case e.Cfg.Proxy != nil:
		return sysproxy.ModeFixed
	}
	return sysproxy.ModeSystem
}

// labDirect reports a lab run without a proxy of its own: the system's
// settings are ignored (the lab's names exist only in its own DNS).
func (e *Env) labDirect() bool {
	return e.Cfg.Lab && (e.proxyMode() == sysproxy.ModeSystem || e.proxyMode() == sysproxy.ModeNone)
}

// PrepareProxies reads the proxy settings and fetches and loads the PAC
// they name, once per Env, within ctx (give it ProxyPrepareBudget), so
// that the checks' own budgets go to the network they test.
func (e *Env) PrepareProxies(ctx context.Context) {
	if e.labDirect() {
		return
	}
	e.proxyResolver().Prepare(ctx)
}

// ProxySettings returns the system proxy settings in use (zero unless the
// run uses them), after PrepareProxies.
func (e *Env) ProxySettings() sysproxy.Settings {
	if e.labDirect() {
		return sysproxy.Settings{}
	}
	return e.proxyResolver().Settings()
}

// proxyResolver builds the run's proxy resolver once, from Cfg: PAC
// helpers and the PAC fetch resolve names with the run's resolver.
func (e *Env) proxyResolver() *sysproxy.Resolver {
	e.proxyOnce.Do(func() {
		cfg := e.Cfg
		mode := e.proxyMode()
		fixed := cfg.Proxy
		if fixed != nil {
			c := *fixed
			c.User = nil
			fixed = &c
		}
		e.proxies = sysproxy.NewResolver(sysproxy.Options{
			Mode: mode, Fixed: fixed, FixedFrom: "the config file",
			PAC: cfg.ProxyPAC, PACFrom: "proxy_pac in the config file",
			System: browserSettings,
			Lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
				ans := e.DNS.Lookup(ctx, host)
				return ans.Addrs, ans.Err
			},
			Roots: cfg.Roots,
		})
	})
	return e.proxies
}

// browserSettings are the proxy settings the agent's browser uses: a
// Chrome, Edge or Chromium proxy policy when one is set (the browser then
// ignores the system's settings), else the system's. When browsers'
// policies disagree the first (Chrome, Edge, Chromium) is followed and the
// difference is reported.
func browserSettings(ctx context.Context) sysproxy.Settings {
	var (
		chosen sysproxy.Settings
		found  bool
		others []string
	)
	for _, b := range readPolicies() {
		s, ok, _ := browserpolicy.ProxyConfig(b)
		if !ok {
			continue
		}
		if !found {
			chosen, found = s, true
			continue
		}
		if !sameSettings(s, chosen) {
			others = append(others, fmt.Sprintf("%s differs (this run follows %s)", s.From, chosen.From))
		}
	}
	if !found {
		return sysproxy.ReadSystem(ctx)
	}
	chosen.Problems = append(chosen.Problems, others...)
	return chosen
}

func sameSettings(a, b sysproxy.Settings) bool {
	return a.AutoDetect == b.AutoDetect && a.PACURL == b.PACURL &&
		sysproxy.Redact(a.Proxy) == sysproxy.Redact(b.Proxy) && strings.Join(a.Bypass.Rules, ",") == strings.Join(b.Bypass.Rules, ",")
}

// endpointURL is the URL the CCP opens on e: https://host/ (with the
// port when it is not 443).
func endpointURL(e catalog.Endpoint) string {
	host := e.Host
	if e.Port != 443 && e.Port != 0 {
		host = net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
	}
	return (&url.URL{Scheme: "https", Host: host, Path: "/"}).String()
}

// proxyFor returns the browser configuration's choice for endpoint e,
// with URL set to its first hop.
func proxyFor(ctx context.Context, env *Env, e catalog.Endpoint) proxyChoice {
	c := env.ProxyFor(ctx, endpointURL(e))
	pc := proxyChoice{Source: c.Source, Choice: c}
	if c.Proxied() {
		pc.URL = c.Hops[0].Proxy
	}
	return pc
}

// proxyCredentials returns the credentials for the proxy hop u: those of
// the config (file, environment, or the proxy URL of proxy:), and whether
// they may be sent before the proxy asks (only those written in the proxy
// URL itself, as curl and browsers do with user:password@proxy).
func proxyCredentials(cfg *config.Config, u *url.URL) (creds config.ProxyCredentials, preemptive bool) {
	creds = cfg.ProxyAuth
	if !creds.Given() && cfg.Proxy != nil && cfg.Proxy.User != nil && cfg.Proxy.User.Username() != "" {
		pw, _ := cfg.Proxy.User.Password()
		creds = config.ProxyCredentials{Username: config.Secret(cfg.Proxy.User.Username()), Password: config.Secret(pw), From: "the proxy URL"}
	}
	preemptive = creds.From == "the proxy URL" && cfg.Proxy != nil && u != nil && cfg.Proxy.Host == u.Host
	return creds, preemptive
}
