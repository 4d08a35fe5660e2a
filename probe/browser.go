// Shared by the browser's own checks (browser.support, browser.microphone,
// browser.udp, browser.relay; check --browser, docs/BROWSER.md): the
// session they wait on, how it starts, their budget and targets. Each
// check's Run waits for the page's answer (Env.Browser) and grades its part
// of it; without an answer within the browser's time limit it is a skip
// with the reason (the browser never opened the page, or sent nothing).

package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/config"
)

// BrowserSession is the browser check's session as the browser.* checks
// see it (a *browsercheck.Session): Wait returns the page's answer, or an
// error whose text is the skip reason. Safe for concurrent use.
type BrowserSession interface {
	Wait(ctx context.Context) (*browsercheck.Answer, error)
}

// browserTarget is the one target of the checks of the whole browser.
const browserTarget = "browser"

// browserPostGrace is the time between the session's deadline and the
// browser checks' budget: the page posts its last answer up to the
// session's deadline, and the checks read it after.
const browserPostGrace = 500 * time.Millisecond

// browserWait is how long the page has, from the session's start: the
// browser's time limit plus the test call's --duration.
func browserWait(c *config.Config) time.Duration { return c.Browser.Timeout + c.Duration }

// browserBudget is a browser check's budget: browserWait and the grace.
// It is long (45 s plus --duration by default) because a person may have
// to answer the microphone prompt; a page that answers returns at once.
func browserBudget(c *config.Config) time.Duration { return browserWait(c) + browserPostGrace }

// browserAsked leaves the browser checks out of a run without --browser.
func browserAsked(c *config.Config) bool { return c.Browser.Enabled }

// browserWhy is the skip reason of a browser check with no target.
func browserWhy(*config.Config) string { return "nothing to check" }

// StartBrowser starts the browser check of a run when cfg asks for it and
// a browser check is not --skip'ped: it serves the page on 127.0.0.1,
// opens the browser (cfg.Browser.Cmd, else the default browser) and sets
// env.Browser. It returns the page's URL ("" when nothing started) for the
// caller to show, and stop, which the caller calls once the run is over
// (it ends the server and a headless browser it started). A session that
// cannot start, or a browser that cannot be opened, is not an error: the
// checks report it as their skip reason.
func StartBrowser(ctx context.Context, env *Env) (url string, stop func()) {
	cfg := env.Cfg
	runs := false
	for _, p := range []Probe{browserSupport, browserMicrophone, browserUDP, browserRelay} {
		runs = runs || p.runs(cfg)
	}
	if !cfg.Browser.Enabled || !runs {
		return "", func() {}
	}
	page := browserPage(ctx, env)
	s, err := browsercheck.Start(browsercheck.Options{Page: page, Wait: browserWait(cfg)})
	if err != nil {
		env.Browser = failedSession{fmt.Sprintf("no answer from the browser: the check page could not be served (%v)", err)}
		return "", func() {}
	}
	env.Browser = s
	_ = s.Open(cfg.Browser.Cmd) // remembered by the session: the checks' skip reason names it
	return s.URL(), func() { _ = s.Close() }
}

// failedSession is a session that never started.
type failedSession struct{ reason string }

func (f failedSession) Wait(context.Context) (*browsercheck.Answer, error) {
	return nil, errors.New(f.reason)
}

// browserPage is what the page is told: the TURN servers as STUN URLs, in
// the order of turnTargets, and the credentialed ICE servers. The browser
// resolves the names itself (its own DNS view), except when the run asks a
// DNS server directly (config resolver, --lab): a browser cannot be
// pointed at one, so it is given the addresses this run resolved (in the
// STUN and the TURN URLs alike).
func browserPage(ctx context.Context, env *Env) browsercheck.PageConfig {
	cfg := env.Cfg
	page := browsercheck.PageConfig{Duration: cfg.Duration}
	// host is the name for the browser to resolve, or the address this
	// run's own DNS server gave.
	host := func(name string) string {
		if cfg.Resolver != "" {
			if a := env.DNS.Lookup(ctx, name); a.Err == nil && len(a.Addrs) > 0 {
				return preferIPv4(a.Addrs).String()
			}
		}
		return name
	}
	for _, t := range turnTargets(cfg) {
		page.STUN = append(page.STUN, "stun:"+net.JoinHostPort(host(t.Endpoint.Host), strconv.Itoa(t.Endpoint.Port)))
	}
	for _, s := range cfg.ICEServers {
		var urls []string
		for _, raw := range s.URLs {
			u, err := config.ParseTURNURL(raw)
			if err != nil || cfg.Resolver == "" {
				urls = append(urls, raw)
				continue
			}
			scheme := "turn"
			if u.Secure {
				scheme = "turns"
			}
			urls = append(urls, fmt.Sprintf("%s:%s?transport=%s", scheme, net.JoinHostPort(host(u.Host), strconv.Itoa(u.Port)), u.Transport))
		}
		page.ICEServers = append(page.ICEServers, browsercheck.ICEServer{URLs: urls, Username: s.Username.Reveal(), Credential: s.Credential.Reveal()})
	}
	return page
}

// browserAnswer waits for the page's answer. On none it returns a skip
// result with the reason (for target).
func browserAnswer(ctx context.Context, env *Env, target string) (*browsercheck.Answer, Result, bool) {
	r := Result{Target: target}
	if env.Browser == nil {
		r.Status, r.Reason = Skip, "no browser check ran (check --browser)"
		return nil, r, false
	}
	a, err := env.Browser.Wait(ctx)
	if err != nil || a == nil {
		r.Status, r.Reason = Skip, "no answer from the browser"
		if err != nil {
			r.Reason = err.Error()
		}
		return nil, r, false
	}
	return a, r, true
}
