package exporter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/ccp-preflight/ccp-preflight/result"
)

const turn = "TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com:3478"

// fakeReport is what a run returns: a failing stun.binding with its remedy
// and a media.quality measurement.
func fakeReport(n int) *report.Report {
	r := &report.Report{
		Schema: report.Schema, Version: "v9.9.9", StartedAt: time.Date(2026, 11, 24, 21, 0, n, 0, time.UTC), DurationMS: 6200,
		Region: "us-east-1", Instance: "acme",
		Ranges: report.RangesInfo{Source: "embedded", CreateDate: "2026-11-02T18:13:05Z"},
		Checks: []result.Result{
			{ID: "stun.binding", Target: turn, Status: result.Fail, Phase: "read", Reason: "no answer on UDP 3478",
				Remedy: "allow outbound UDP 3478 to TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com", Details: map[string]string{"mapped_address": "198.51.100.23:40000"}},
			{ID: "media.quality", Target: turn, Status: result.Pass, DurationMS: 5000,
				Metrics: map[string]float64{"rtt_ms": 31.5, "jitter_ms": 4.25, "loss_ratio": 0.002, "mos": 4.31},
				Series:  []result.Sample{{T: 1, RTTMS: 30, JitterMS: 4, Sent: 50, Received: 50}, {T: 2, RTTMS: 33, JitterMS: 4.5, LossRatio: 0.02, Sent: 50, Received: 49}}},
		},
	}
	r.Verdict = result.Verdict(r.Checks)
	return r
}

func get(t *testing.T, h http.Handler, method, target string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code, rec.Header(), rec.Body.String()
}

func TestHandlerBeforeAndAfterARun(t *testing.T) {
	var calls atomic.Int32
	e, err := New(Options{Interval: time.Minute, StartJitter: -1, Run: func(ctx context.Context) *report.Report {
		return fakeReport(int(calls.Add(1)))
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := e.Handler()

	// Before any run: no report, health says the scheduler has not started.
	if code, _, body := get(t, h, "GET", "/report"); code != 503 || !strings.Contains(body, "no check run has finished yet") {
		t.Errorf("/report before a run: %d %q", code, body)
	}
	if code, _, body := get(t, h, "GET", "/metrics"); code != 200 || strings.Contains(body, "ccp_preflight_check_success") || !strings.Contains(body, `ccp_preflight_runs_total{verdict="fail"} 0`) {
		t.Errorf("/metrics before a run: %d\n%s", code, body)
	}

	e.RunOnce(context.Background())

	code, hdr, body := get(t, h, "GET", "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`ccp_preflight_check_success{check="stun.binding",target="` + turn + `"} 0`,
		`ccp_preflight_check_success{check="media.quality",target="` + turn + `"} 1`,
		`ccp_preflight_rtt_seconds{check="media.quality",target="` + turn + `"} 0.0315`,
		`ccp_preflight_jitter_seconds{check="media.quality",target="` + turn + `"} 0.00425`,
		`ccp_preflight_loss_ratio{check="media.quality",target="` + turn + `"} 0.002`,
		`ccp_preflight_mos{check="media.quality",target="` + turn + `"} 4.31`,
		`ccp_preflight_run_duration_seconds 6.2`,
		`ccp_preflight_runs_total{verdict="fail"} 1`,
		`ccp_preflight_run_in_progress 0`,
		"ccp_preflight_last_run_timestamp_seconds ",
		"ccp_preflight_ranges_age_seconds ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Errorf("/metrics content type %q", hdr.Get("Content-Type"))
	}
	// The same lines as --format prom.
	var prom bytes.Buffer
	if err := report.Prom(&prom, e.Latest()); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&prom)
	for sc.Scan() {
		if l := sc.Text(); !strings.HasPrefix(l, "#") && !strings.Contains(body, l+"\n") {
			t.Errorf("--format prom line missing from /metrics: %s", l)
		}
	}
	if _, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command("promtool", "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on /metrics: %v\n%s", err, out)
		}
	}

	code, hdr, body = get(t, h, "GET", "/report")
	var back report.Report
	if code != 200 || json.Unmarshal([]byte(body), &back) != nil || back.Verdict != result.Fail || back.Checks[0].Remedy == "" {
		t.Errorf("/report: %d %q", code, body)
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Errorf("/report content type %q", hdr.Get("Content-Type"))
	}
	for _, path := range []string{"/report.html", "/report?format=html"} {
		code, hdr, body = get(t, h, "GET", path)
		if code != 200 || !strings.Contains(body, `<h1 id="verdict">NOT READY`) || !strings.Contains(body, "allow outbound UDP 3478") ||
			!strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || hdr.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d %v", path, code, hdr)
		}
		if strings.Contains(body, "198.51.100.23") {
			t.Errorf("%s shows the public IP unmasked", path)
		}
	}
	if code, _, body = get(t, h, "GET", "/report?format=nagios"); code != 200 || !strings.HasPrefix(body, "CCP-PREFLIGHT CRITICAL") {
		t.Errorf("nagios: %d %q", code, body)
	}
	if code, _, _ = get(t, h, "GET", "/report?format=yaml"); code != 400 {
		t.Errorf("unknown format: %d, want 400", code)
	}
	if code, _, body = get(t, h, "GET", "/healthz"); code != 503 || !strings.Contains(body, "scheduler has not started") {
		t.Errorf("healthz without the loop: %d %q", code, body)
	}
	if code, _, _ = get(t, h, "GET", "/nope"); code != 404 {
		t.Errorf("/nope: %d", code)
	}
}

func TestHandlerNeverProbesWhatHTTPAsks(t *testing.T) {
	var calls atomic.Int32
	e, _ := New(Options{Interval: time.Minute, Run: func(ctx context.Context) *report.Report {
		calls.Add(1)
		return fakeReport(0)
	}})
	e.RunOnce(context.Background())
	h := e.Handler()
	for _, target := range []string{
		"/report?region=eu-west-2&target=10.0.0.1:3478&instance=evil",
		"/metrics?target=evil.example:3478&module=turn",
		"/report.html?turn_servers=evil.example:3478&show-ip=1",
		"/healthz?run=1",
	} {
		code, _, body := get(t, h, "GET", target)
		if (code != 200 && !strings.HasPrefix(target, "/healthz")) || strings.Contains(body, "evil") || strings.Contains(body, "eu-west-2") {
			t.Errorf("%s: %d, or the body echoes the request", target, code)
		}
		if strings.HasPrefix(target, "/report.html") && strings.Contains(body, "198.51.100.23") {
			t.Errorf("%s: a query parameter unmasked the public IP", target)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		if code, hdr, _ := get(t, h, m, "/report"); code != 405 || hdr.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /report: %d", m, code)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("HTTP requests started %d extra runs", n-1)
	}
}

// TestLoopNeverOverlaps runs a schedule whose runs sometimes overrun their
// slot: never two at once, slots are skipped, the loop stops with ctx.
func TestLoopNeverOverlaps(t *testing.T) {
	var active, maxActive, calls atomic.Int32
	var log syncBuffer
	e, _ := New(Options{Interval: 40 * time.Millisecond, StartJitter: -1, Log: &log, Run: func(ctx context.Context) *report.Report {
		n := calls.Add(1)
		a := active.Add(1)
		defer active.Add(-1)
		for {
			m := maxActive.Load()
			if a <= m || maxActive.CompareAndSwap(m, a) {
				break
			}
		}
		d := 5 * time.Millisecond
		if n == 2 {
			d = 100 * time.Millisecond // overruns two slots
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return fakeReport(int(n))
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Loop(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	code, _, body := get(t, e.Handler(), "GET", "/healthz")
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Loop did not return after ctx ended")
	}
	if calls.Load() < 4 {
		t.Fatalf("only %d runs in 5s at a 40ms interval", calls.Load())
	}
	if maxActive.Load() != 1 {
		t.Errorf("%d runs at once, want never more than 1", maxActive.Load())
	}
	if !strings.Contains(log.String(), "skipping") {
		t.Errorf("the overrun was not logged:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "NOT READY") {
		t.Errorf("runs not logged with their verdict:\n%s", log.String())
	}
	if code != 200 || !strings.HasPrefix(body, "ok: ") {
		t.Errorf("healthz while running: %d %q", code, body)
	}
}

func TestLoopJitteredStartAndStuckHealth(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	block := make(chan struct{})
	e, _ := New(Options{Interval: time.Minute, StartJitter: 30 * time.Millisecond, Now: clock, Run: func(ctx context.Context) *report.Report {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Loop(ctx)
	time.Sleep(60 * time.Millisecond)
	h := e.Handler()
	if code, _, body := get(t, h, "GET", "/healthz"); code != 200 || !strings.Contains(body, "first run") {
		t.Errorf("healthz during the first run: %d %q", code, body)
	}
	mu.Lock()
	now = now.Add(4 * time.Minute) // the run hangs for 4 intervals
	mu.Unlock()
	if code, _, body := get(t, h, "GET", "/healthz"); code != 503 || !strings.Contains(body, "stuck") {
		t.Errorf("healthz with a hung run: %d %q", code, body)
	}
	if _, _, body := get(t, h, "GET", "/metrics"); !strings.Contains(body, "ccp_preflight_run_in_progress 1") {
		t.Error("run_in_progress should be 1 during a run")
	}
	close(block)
}

func TestNewRejectsMisuse(t *testing.T) {
	if _, err := New(Options{Interval: time.Minute}); err == nil {
		t.Error("no runner: want an error")
	}
	if _, err := New(Options{Run: func(context.Context) *report.Report { return nil }}); err == nil {
		t.Error("no interval: want an error")
	}
}

// syncBuffer is a bytes.Buffer safe for the loop's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var _ io.Writer = (*syncBuffer)(nil)
