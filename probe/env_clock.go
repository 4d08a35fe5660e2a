package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
)

// env.clock: this computer's clock against the Date header of the first
// reachable HTTPS endpoint (TLS verified against the run's roots, through
// the configured or environment proxy). Sign-in breaks when the clock is
// off by more than 10 s (the CCP Log Parser flags skew above 10 s).
var envClock = Probe{
	Kind:    result.Kind{ID: "env.clock", Layer: result.LayerComputer, DependsOn: []string{"tls.handshake"}},
	Budget:  timeout,
	Targets: oneTarget("clock"),
	Why:     func(*config.Config) string { return "no HTTPS endpoint to read the time from" },
	Run:     runEnvClock,
}

// Skew limits.
const (
	// clockSkewFail: the CCP Log Parser flags skew above 10 s and sign-in
	// (signed, time-limited requests) breaks.
	clockSkewFail = 10 * time.Second
	// clockSkewWarn: well inside the fail limit but already drifting; the
	// measurement itself is good to about ±0.5 s (Date has 1 s resolution).
	clockSkewWarn = 2 * time.Second
	// clockAttemptMin is the least time given to one endpoint before the
	// next is tried: a TLS handshake over a slow path.
	clockAttemptMin = 500 * time.Millisecond
)

const remedyClock = "turn on automatic time synchronisation (NTP): Windows Settings → Time & language → \"Set time automatically\" (or `w32tm /resync` as administrator), macOS System Settings → General → Date & Time → \"Set time and date automatically\", Linux `timedatectl set-ntp true`; and allow outbound UDP 123 to the time server your organisation uses"

func runEnvClock(ctx context.Context, env *Env, _ Target) Result {
	cfg := env.Cfg
	r := Result{Target: "clock"}
	if len(cfg.HTTPS) == 0 {
		r.Status, r.Reason = Skip, "no HTTPS endpoint to read the time from"
		return r
	}
	client := clockClient(env)
	defer client.CloseIdleConnections()

	var tried []string
	noDate := 0
	for i, e := range cfg.HTTPS {
		if ctx.Err() != nil {
			break
		}
		// Share what is left of the budget among the endpoints still to try.
		budget := clockAttemptMin
		if dl, ok := ctx.Deadline(); ok {
			budget = max(time.Until(dl)/time.Duration(min(len(cfg.HTTPS)-i, 3)), clockAttemptMin)
		}
		skew, rtt, err := readClock(ctx, env, client, e, budget)
		if errors.Is(err, errNoDate) {
			noDate++
			tried = append(tried, e.Addr()+": no Date header")
			continue
		}
		if err != nil {
			tried = append(tried, e.Addr()+": "+clockErrWord(err))
			continue
		}
		r.Target = e.Addr()
		r.SetMetric("skew_ms", math.Round(float64(skew.Microseconds()))/1000)
		r.SetMetric("uncertainty_ms", math.Round(float64((rtt/2+500*time.Millisecond).Microseconds()))/1000)
		r.SetDetail("reference", "Date header of https://"+e.Addr()+"/")
		abs := skew.Abs()
		dir := "ahead of"
		if skew < 0 {
			dir = "behind"
		}
		switch {
		case abs > clockSkewFail:
			r.Status, r.Phase = Fail, result.PhaseClock
			r.Reason = fmt.Sprintf("this computer's clock is %s %s %s's time: more than 10 s off breaks CCP sign-in", roundSkew(abs), dir, e.Host)
			r.Remedy = remedyClock
		case abs > clockSkewWarn:
			r.Status, r.Phase = Warn, result.PhaseClock
			r.Reason = fmt.Sprintf("this computer's clock is %s %s %s's time: not yet breaking sign-in (that happens above 10 s) but drifting", roundSkew(abs), dir, e.Host)
			r.Remedy = remedyClock
		default:
			r.Status = Pass
		}
		return r
	}
	r.Status = Skip
	switch {
	case ctx.Err() != nil && len(tried) == 0:
		r.Reason = "no time left to read the clock of an HTTPS endpoint"
	case noDate == len(tried) && noDate > 0:
		r.Reason = "the HTTPS endpoints sent no Date header, so the clock could not be compared"
	default:
		// The raw errors are for IT (details), not the reason's plain words.
		r.Reason = fmt.Sprintf("none of the %d HTTPS endpoints answered, so the clock could not be compared (see tcp.connect and tls.handshake)", len(tried))
		r.SetDetail("errors", strings.Join(tried, "; "))
	}
	return r
}

var errNoDate = errors.New("no Date header")

// readClock makes one HEAD request to e and returns local − server time
// (positive: this computer is ahead) and the request's round trip. The
// server's Date (whole seconds, truncated) is taken as its time at the
// midpoint of request and response, plus half a second.
func readClock(ctx context.Context, env *Env, client *http.Client, e catalog.Endpoint, budget time.Duration) (time.Duration, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodHead, "https://"+e.Addr()+"/", nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("User-Agent", "ccp-preflight (clock check)")
	t1 := env.now()
	resp, err := client.Do(req)
	t2 := env.now()
	if err != nil {
		return 0, 0, err
	}
	_ = resp.Body.Close()
	skew, rtt, err := clockSkew(resp.Header.Get("Date"), t1, t2)
	return skew, rtt, err
}

// clockSkew is local − server time from a response's Date header (what a
// server sent; "" when it sent none: errNoDate, like one that does not
// parse) read by a request sent at t1 and answered at t2: the server's
// Date (whole seconds, truncated) is taken as its time at the midpoint,
// plus half a second. A date too far off for a time.Duration gives the
// largest skew of its sign.
func clockSkew(date string, t1, t2 time.Time) (skew, rtt time.Duration, err error) {
	if date == "" {
		return 0, 0, errNoDate
	}
	server, err := http.ParseTime(date)
	if err != nil {
		return 0, 0, errNoDate
	}
	rtt = t2.Sub(t1)
	mid := t1.Add(rtt / 2)
	return mid.Sub(server.Add(500 * time.Millisecond)), rtt, nil
}

// clockClient is an HTTP client for the run: the configured proxy (else
// HTTPS_PROXY/NO_PROXY), the run's roots, and the run's resolver for the
// endpoints' own names.
func clockClient(env *Env) *http.Client {
	cfg := env.Cfg
	proxy := http.ProxyFromEnvironment
	if cfg.Proxy != nil {
		proxy = http.ProxyURL(cfg.Proxy)
	}
	endpoints := map[string]bool{}
	for _, e := range cfg.HTTPS {
		endpoints[e.Host] = true
	}
	var d net.Dialer
	tr := &http.Transport{
		Proxy:             proxy,
		TLSClientConfig:   &tls.Config{RootCAs: cfg.Roots, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil || !endpoints[host] {
				return d.DialContext(ctx, network, addr) // e.g. the proxy
			}
			ans := env.DNS.Lookup(ctx, host)
			if ans.Err != nil {
				return nil, ans.Err
			}
			var last error = fmt.Errorf("%s has no address", host)
			for _, a := range ans.Addrs {
				c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
				if err == nil {
					return c, nil
				}
				last = err
			}
			return nil, last
		},
	}
	return &http.Client{
		Transport: tr,
		// A redirect's Date is as good as any: do not follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func roundSkew(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// clockErrWord is an error in a few words for a list of tried endpoints.
func clockErrWord(err error) string {
	if k := Classify(err); k != KindOther && k != KindNone {
		return string(k)
	}
	return err.Error()
}
