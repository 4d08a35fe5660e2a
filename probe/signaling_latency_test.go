package probe

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestLatencyBands(t *testing.T) {
	for ms, want := range map[float64]string{0: "good", 200: "good", 200.5: "amber", 300: "amber", 301: "orange", 400: "orange", 400.1: "red", 2000: "red"} {
		band, st := latencyBand(ms)
		wantSt := map[string]Status{"good": Pass, "amber": Warn, "orange": Warn, "red": Fail}[want]
		if band != want || st != wantSt {
			t.Errorf("latencyBand(%v) = %s/%s, want %s/%s", ms, band, st, want, wantSt)
		}
	}
}

func latencyEnv(t *testing.T, port int, ca *lab.CA) *Env {
	env := loopbackEnv(t)
	env.Cfg.Roots = ca.Pool()
	env.Cfg.Latency = []catalog.Endpoint{{Host: rtcHost, Port: port, Service: catalog.EC2}}
	return env
}

func runLatencyProbe(t *testing.T, env *Env) Result {
	t.Helper()
	ts := latencyTargets(env.Cfg)
	ctx, cancel := context.WithTimeout(context.Background(), signalingLatency.Budget(env.Cfg))
	defer cancel()
	return signalingLatency.Run(ctx, env, ts[0])
}

// TestLatencyGoodOnOneConnection: five /ping requests on one kept-alive
// connection to a real HTTPS server; the median is graded good.
func TestLatencyGoodOnOneConnection(t *testing.T) {
	var paths atomic.Int64
	ca, err := lab.NewCA("ccp-preflight lab CA")
	if err != nil {
		t.Fatal(err)
	}
	s, err := lab.StartHTTPS(ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == config.LatencyPath {
			paths.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	env := latencyEnv(t, s.Port, ca)
	r := runLatencyProbe(t, env)
	wantResult(t, r, Pass, "", []string{"median HTTPS round trip to " + rtcHost + "/ping", "over 5 requests", "good"}, nil)
	if paths.Load() != latencySamples || r.Metrics["samples"] != latencySamples || r.Details["band"] != "good" {
		t.Errorf("%d /ping requests, metrics %v details %v", paths.Load(), r.Metrics, r.Details)
	}
}

// TestLatencyRedFails: a signaling host answering 450 ms after each
// request (the harness's delay: the round trip cannot be shorter) is red
// by AWS's bands, and the check fails in phase quality.
func TestLatencyRedFails(t *testing.T) {
	ca, err := lab.NewCA("ccp-preflight lab CA")
	if err != nil {
		t.Fatal(err)
	}
	const delay = 450 * time.Millisecond
	s, err := lab.StartHTTPS(ca, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(delay)
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := runLatencyProbe(t, latencyEnv(t, s.Port, ca))
	if r.Metrics["rtt_ms"] < float64(delay.Milliseconds()) {
		t.Errorf("rtt_ms %.1f below the applied delay %v", r.Metrics["rtt_ms"], delay)
	}
	if r.Metrics["samples"] < 3 {
		t.Errorf("only %v samples within the budget", r.Metrics["samples"])
	}
	wantResult(t, r, Fail, result.PhaseQuality, []string{"red by AWS's bands (> 400 ms)", "call setup"}, []string{"shorten the path to " + rtcHost})
}

// TestLatencyUnreachableSkips: no server: not measured (signaling.websocket
// and tcp.connect report the path), never a fail of its own.
func TestLatencyUnreachableSkips(t *testing.T) {
	ca, _ := lab.NewCA("x")
	env := latencyEnv(t, 1, ca)
	r := runLatencyProbe(t, env)
	if r.Status != Skip || !strings.Contains(r.Reason, "not measured") {
		t.Errorf("result %s %q", r.Status, r.Reason)
	}
}
