// Package exporter is the engine of `ccp-preflight serve`: it runs the
// check on a schedule (never two at once, the first start jittered so a
// fleet does not run in step), keeps the latest report, and serves it over
// HTTP as Prometheus metrics (/metrics), as a report (/report, JSON or any
// other format; /report.html) and as a health probe (/healthz).
//
// The exporter only ever runs the Runner it was built with: nothing a client
// sends over HTTP (paths, query parameters, headers) changes what is checked.
package exporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Runner runs one check and returns its report. It must return soon after
// ctx ends (with a partial, Interrupted report or nil). A nil report counts
// as a failed run and keeps the previous one.
type Runner func(ctx context.Context) *report.Report

// Interval bounds for the schedule. MinInterval keeps a run (timeout plus
// media duration, seconds) well inside its slot and the TURN servers from
// being probed more than a person's CCP would; MaxInterval is a day.
const (
	MinInterval = 10 * time.Second
	MaxInterval = 24 * time.Hour
	// MaxStartJitter caps the random delay before the first run.
	MaxStartJitter = 30 * time.Second
)

// Options configure an Exporter.
type Options struct {
	// Run runs one check (required).
	Run Runner
	// Interval is the time between run starts (MinInterval to MaxInterval;
	// tests may use less). A run longer than Interval delays the next one
	// to the next free slot: runs never overlap.
	Interval time.Duration
	// StartJitter is the upper bound of the random delay before the first
	// run; 0 means the default, min(Interval/10, MaxStartJitter); negative
	// means none.
	StartJitter time.Duration
	// Render are the options for /report (FailOn; ShowIP: the public IP
	// unmasked, else it is masked in every format, see Report.MaskedIPs).
	Render report.Options
	// Log receives one line per run (nil: discarded). It never holds a
	// credential: reports are redacted before they get here.
	Log io.Writer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Exporter runs the schedule and serves the results. Safe for concurrent
// use; the zero value is not usable (use New).
type Exporter struct {
	o   Options
	reg *prometheus.Registry

	runs     *prometheus.CounterVec
	inFlight prometheus.Gauge

	mu        sync.RWMutex
	last      *report.Report
	lastEnd   time.Time
	started   time.Time // when Loop started
	firstAt   time.Time // when the first run is due
	n         int       // runs finished
	scheduled bool
}

// New returns an Exporter; it does not start running (see Loop).
func New(o Options) (*Exporter, error) {
	if o.Run == nil {
		return nil, errors.New("exporter: no runner")
	}
	if o.Interval <= 0 {
		return nil, errors.New("exporter: interval must be positive")
	}
	if o.StartJitter == 0 {
		o.StartJitter = min(o.Interval/10, MaxStartJitter)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	e := &Exporter{o: o, reg: prometheus.NewRegistry()}
	e.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: report.MetricPrefix + "runs_total",
		Help: "Check runs finished since the exporter started, by verdict (pass, warn, fail, or error when the run returned no report).",
	}, []string{"verdict"})
	e.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: report.MetricPrefix + "run_in_progress",
		Help: "1 while a check run is in progress.",
	})
	for _, v := range []string{"pass", "warn", "fail", "error"} {
		e.runs.WithLabelValues(v) // export zeros from the start
	}
	e.reg.MustRegister(e.runs, e.inFlight, reportCollector{e},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return e, nil
}

// Latest returns the latest finished report (nil before the first run).
// The caller must not modify it.
func (e *Exporter) Latest() *report.Report {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.last
}

// RunOnce runs the check now and records its report. Loop calls it; it is
// exported for tests and one-shot use. Callers must not run it
// concurrently with Loop (runs must not overlap).
func (e *Exporter) RunOnce(ctx context.Context) *report.Report {
	e.inFlight.Set(1)
	defer e.inFlight.Set(0)
	start := e.o.Now()
	r := e.o.Run(ctx)
	end := e.o.Now()
	e.mu.Lock()
	e.n++
	n := e.n
	if r != nil {
		e.last, e.lastEnd = r, end
	}
	e.mu.Unlock()
	if r == nil {
		e.runs.WithLabelValues("error").Inc()
		fmt.Fprintf(e.o.Log, "ccp-preflight serve: run %d returned no report after %.1fs\n", n, end.Sub(start).Seconds())
		return nil
	}
	e.runs.WithLabelValues(string(r.Verdict)).Inc()
	fmt.Fprintf(e.o.Log, "ccp-preflight serve: run %d took %.1fs: %s\n", n, end.Sub(start).Seconds(), report.Headline(r))
	return r
}

// Loop runs the check every Interval until ctx ends: the first run after a
// random delay in [0, StartJitter), then one per slot of Interval counted
// from the first. A run that overruns its slot skips the slots it missed,
// so two runs never overlap and never run back to back to catch up.
func (e *Exporter) Loop(ctx context.Context) {
	var delay time.Duration
	if e.o.StartJitter > 0 {
		delay = rand.N(e.o.StartJitter)
	}
	now := e.o.Now()
	next := now.Add(delay)
	e.mu.Lock()
	e.started, e.firstAt, e.scheduled = now, next, true
	e.mu.Unlock()
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.RunOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		now := e.o.Now()
		next = next.Add(e.o.Interval)
		if !next.After(now) {
			missed := now.Sub(next)/e.o.Interval + 1
			next = next.Add(missed * e.o.Interval)
			fmt.Fprintf(e.o.Log, "ccp-preflight serve: the run overran its %v slot; skipping %d slot(s)\n", e.o.Interval, missed)
		}
		t.Reset(next.Sub(now))
	}
}

// Handler serves /metrics, /report (?format=json|html|text|junit|prom|
// nagios; also /report.html and /report.json), /healthz and an index at /.
// Only GET and HEAD are allowed. No request can start a run or change a
// target: the handlers only read the latest report.
func (e *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		format := r.URL.Query().Get("format")
		if format == "" {
			format = "json"
		}
		e.serveReport(w, format)
	})
	mux.HandleFunc("/report.html", func(w http.ResponseWriter, r *http.Request) { e.serveReport(w, "html") })
	mux.HandleFunc("/report.json", func(w http.ResponseWriter, r *http.Request) { e.serveReport(w, "json") })
	mux.HandleFunc("/healthz", e.serveHealth)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, indexPage)
	})
	return readOnly(mux)
}

const indexPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ccp-preflight serve</title></head>
<body><h1>ccp-preflight serve</h1>
<ul><li><a href="/report.html">/report.html</a>: the latest report</li>
<li><a href="/report">/report</a>: the same as JSON (ccp-preflight/report/v1); ?format=text|junit|prom|nagios|html</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="/healthz">/healthz</a>: health of the scheduler</li></ul></body></html>
`

// readOnly allows GET and HEAD only, and sets headers every answer needs.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: this exporter is read-only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

var contentTypes = map[string]string{
	"json":   "application/json; charset=utf-8",
	"html":   "text/html; charset=utf-8",
	"text":   "text/plain; charset=utf-8",
	"nagios": "text/plain; charset=utf-8",
	"junit":  "application/xml; charset=utf-8",
	"prom":   "text/plain; version=0.0.4; charset=utf-8",
}

func (e *Exporter) serveReport(w http.ResponseWriter, format string) {
	ct, ok := contentTypes[format]
	if !ok {
		http.Error(w, fmt.Sprintf("unknown format %q: want one of json, html, text, junit, prom, nagios", format), http.StatusBadRequest)
		return
	}
	r := e.Latest()
	if r == nil {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "no check run has finished yet: "+e.pending(), http.StatusServiceUnavailable)
		return
	}
	if !e.o.Render.ShowIP && format != "html" {
		// Served to whoever can reach the port: the public IP is masked
		// in every format, as the html renderer masks it itself.
		r = r.MaskedIPs()
	}
	var b bytes.Buffer
	if err := report.Render(&b, format, r, e.o.Render); err != nil {
		http.Error(w, "rendering the report failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ct)
	if format == "html" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	}
	w.Write(b.Bytes())
}

func (e *Exporter) pending() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if !e.scheduled {
		return "the scheduler has not started"
	}
	if d := e.firstAt.Sub(e.o.Now()); d > 0 {
		return fmt.Sprintf("the first run starts in %.0fs", d.Seconds())
	}
	return "the first run is in progress"
}

// serveHealth answers 200 while the scheduler keeps up: before the first
// run, and while the last run finished less than 3 intervals (plus the
// start jitter) ago. Else 503: the loop is stuck (a run that never ends).
// The network's verdict does not matter here: that is /metrics' job.
func (e *Exporter) serveHealth(w http.ResponseWriter, r *http.Request) {
	e.mu.RLock()
	scheduled, lastEnd, firstAt, n, last := e.scheduled, e.lastEnd, e.firstAt, e.n, e.last
	e.mu.RUnlock()
	now := e.o.Now()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	limit := 3 * e.o.Interval
	ref := lastEnd
	if ref.IsZero() {
		ref = firstAt
	}
	switch {
	case !scheduled:
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not running: the scheduler has not started\n")
	case now.Sub(ref) > limit:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "stuck: no run finished for %.0fs (interval %v)\n", now.Sub(ref).Seconds(), e.o.Interval)
	case last == nil:
		fmt.Fprintf(w, "ok: %s\n", e.pending())
	default:
		fmt.Fprintf(w, "ok: %d run(s); last finished %.0fs ago, verdict %s\n", n, now.Sub(lastEnd).Seconds(), last.Verdict)
	}
}

// reportCollector exports the latest report's metric families
// (report.Metrics), the same names as --format prom. It is an unchecked
// collector: the families depend on the report.
type reportCollector struct{ e *Exporter }

func (reportCollector) Describe(chan<- *prometheus.Desc) {}

func (c reportCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.e.Latest()
	if r == nil {
		return
	}
	for _, f := range report.Metrics(r) {
		desc := prometheus.NewDesc(f.Name, f.Help, f.Labels, nil)
		for _, s := range f.Samples {
			m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, s.Value, s.Values...)
			if err != nil {
				m = prometheus.NewInvalidMetric(desc, err)
			}
			ch <- m
		}
	}
}
