package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// Signaling latency bands, as AWS's own CCP connectivity tool graded the
// HTTPS round trip to the signaling host's /ping (catalog.SourceTestTool):
// up to 200 ms good, 200–300 amber, 300–400 orange, above 400 red ("above
// 200 ms call setup is more likely to fail"). Good passes, amber and
// orange warn, red fails. Separate from the TURN (media) RTT.
const (
	latencyGoodMS   = 200
	latencyAmberMS  = 300
	latencyOrangeMS = 400
)

// Time limits of signaling.latency.
const (
	// latencySamples is how many requests are timed; the median is graded,
	// so one slow answer (a lost segment) does not decide the band.
	latencySamples = 5
	// latencyRequestTimeout bounds one request's answer: a red path
	// (> 400 ms) still answers well inside it.
	latencyRequestTimeout = 2 * time.Second
	// latencyFixed is the check's budget after its connection (see
	// latencyBudget): the requests.
	latencyFixed = latencySamples*latencyRequestTimeout/2 + 500*time.Millisecond
)

// signalingLatency times HTTPS round trips to the signaling host (the
// configured signaling_url's host, else the host AWS's tool timed: the
// CCP v1 signaling host's /ping) on one kept-alive connection through the
// browser's path, and grades the median with AWS's bands. When it cannot
// time anything (a skip), tls.handshake and tcp.connect say why: it depends
// on them (for its host, or when they failed for every host). Not on
// signaling.websocket: a socket cut while idle says nothing of latency, and
// a slow path's finding must not hide under it.
var signalingLatency = Probe{
	Kind: result.Kind{ID: "signaling.latency", Layer: result.LayerWeb, Perfdata: []string{"rtt_ms"},
		DependsOn: []string{"tls.handshake", "tcp.connect", "dns.resolve"}},
	Budget:  latencyBudget,
	Targets: latencyTargets,
	Why: func(*config.Config) string {
		return "no signaling latency host in this region (GovCloud has no CCP v1 /ping host): set signaling_url to time the CCP's own signaling host"
	},
	Run: runLatency,
}

func latencyTargets(c *config.Config) []Target {
	var ts []Target
	for _, e := range c.Latency {
		ts = append(ts, Target{Name: "https://" + e.Addr() + config.LatencyPath, Endpoint: e})
	}
	return ts
}

// latencyBand names the band of a round trip in ms and its status.
func latencyBand(rttMS float64) (string, Status) {
	switch {
	case rttMS <= latencyGoodMS:
		return "good", Pass
	case rttMS <= latencyAmberMS:
		return "amber", Warn
	case rttMS <= latencyOrangeMS:
		return "orange", Warn
	}
	return "red", Fail
}

func runLatency(ctx context.Context, env *Env, t Target) Result {
	e := t.Endpoint
	r := Result{}
	var (
		dialErr *dialError
		addr    string
		proxy   string
		conn    *tls.Conn
		br      *bufio.Reader
	)
	// open connects (again, when the server closed) the way the browser
	// would: the proxy that applies, then TLS verified as tls.handshake.
	open := func() error {
		d, derr := dialEndpoint(ctx, env, e)
		if derr != nil {
			dialErr = derr
			return errors.New(derr.Reason)
		}
		addr = d.Addr
		if d.Proxy.URL != nil {
			proxy = d.Proxy.String()
		}
		tc := tls.Client(d.Conn, &tls.Config{ServerName: e.Host, RootCAs: env.Cfg.Roots, NextProtos: []string{"http/1.1"}})
		hctx, cancel := context.WithTimeout(ctx, tlsAnswerWait)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			d.Conn.Close()
			return err
		}
		conn, br = tc, bufio.NewReader(tc)
		return nil
	}
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	req := "GET " + config.LatencyPath + " HTTP/1.1\r\nHost: " + e.Host + "\r\nUser-Agent: ccp-preflight\r\nAccept: */*\r\n\r\n"
	var samples []float64
	var lastErr error
	status := ""
	for range latencySamples {
		if conn == nil {
			if lastErr = open(); lastErr != nil {
				break
			}
		}
		_ = conn.SetDeadline(time.Now().Add(latencyRequestTimeout))
		stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
		// One request and its answer's first byte: the round trip timed.
		start := time.Now()
		_, err := io.WriteString(conn, req)
		if err == nil {
			_, err = br.Peek(1)
		}
		rtt := time.Since(start)
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(br, nil)
		}
		stop()
		if err != nil {
			lastErr = err
			break
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		status = resp.Status
		samples = append(samples, ms(rtt))
		if resp.Close {
			conn.Close()
			conn = nil
		}
	}
	r.Address = addr
	if proxy != "" {
		r.SetDetail("proxy", proxy)
	}
	r.SetDetail("source", "bands of "+catalog.SourceTestTool+": ≤ 200 ms good, 200–300 amber, 300–400 orange, > 400 red")
	if len(samples) == 0 {
		r.Status, r.Phase = Skip, result.PhaseConnect
		switch {
		case dialErr != nil:
			r.Phase = dialErr.Phase
			r.Reason = "not measured: " + dialErr.Reason + " (see signaling.websocket and tcp.connect)"
		case lastErr != nil:
			r.Phase = result.PhaseResponse
			r.Reason = fmt.Sprintf("not measured: no HTTPS answer from %s (%s; see signaling.websocket and tls.handshake)", e.Host, Classify(lastErr))
			r.SetDetail("error", lastErr.Error())
		default:
			r.Reason = "not measured"
		}
		return r
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	med := sorted[len(sorted)/2]
	r.SetMetric("rtt_ms", med)
	r.SetMetric("rtt_min_ms", sorted[0])
	r.SetMetric("rtt_max_ms", sorted[len(sorted)-1])
	r.SetMetric("samples", float64(len(samples)))
	r.SetDetail("http_status", status)
	band, st := latencyBand(med)
	r.SetDetail("band", band)
	r.Status = st
	what := fmt.Sprintf("median HTTPS round trip to %s%s %.0f ms over %d requests (min %.0f, max %.0f)", e.Host, config.LatencyPath, med, len(samples), sorted[0], sorted[len(sorted)-1])
	switch band {
	case "good":
		r.Reason = what + ": good by AWS's bands (≤ 200 ms)"
	case "amber", "orange":
		r.Phase = result.PhaseQuality
		r.Reason = fmt.Sprintf("%s: %s by AWS's bands (200–300 amber, 300–400 orange): above 200 ms AWS says call setup is more likely to fail", what, band)
	default:
		r.Phase = result.PhaseQuality
		r.Reason = what + ": red by AWS's bands (> 400 ms): call setup is likely to fail (the CCP's invite answer waits 5 s, accept 2 s)"
	}
	if band != "good" {
		r.Remedy = fmt.Sprintf("shorten the path to %s: send Connect's domains directly (not through a distant proxy or VPN hub), and check for congestion on the site's uplink; latency is not fixed by a firewall rule", e.Host)
	}
	return r
}

// latencyBudget bounds signaling.latency: a connection as tls.handshake's
// (a slow TLS answer is waited for as the CCP would), then the requests.
func latencyBudget(c *config.Config) time.Duration { return tlsBudget(c) + latencyFixed }
