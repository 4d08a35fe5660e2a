package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/exporter"
	"github.com/ccp-preflight/ccp-preflight/preflight"
	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/ccp-preflight/ccp-preflight/result"
)

const serveHelp = `Usage: ccp-preflight serve [--listen ADDR] [--interval D] --region R [check flags]

Runs the check every --interval (never two at once; the first run starts
after a random delay of up to a tenth of the interval, at most 30s, so a
fleet of sites does not probe in step) and serves the latest results:

  /metrics      Prometheus metrics (ccp_preflight_check_success, …_rtt_seconds,
                …_jitter_seconds, …_loss_ratio, …_mos, …_last_run_timestamp_seconds,
                …_ranges_age_seconds, …_run_duration_seconds)
  /report       the latest report as JSON; ?format=html|text|junit|prom|nagios
  /report.html  the latest report as a page
  /healthz      200 while the scheduler keeps up

It listens on loopback unless --listen says otherwise. What it checks comes
from its flags and --config only: nothing sent over HTTP changes a target.
Before each run it reloads the ranges data when the file changed (--ranges
FILE, or the cache 'ccp-preflight ranges update' writes), and at once on
SIGHUP; a damaged file keeps the previous data and is logged.
This network's public IP is masked (203.0.x.x) in every format it serves
unless --show-ip.

Examples:
  ccp-preflight serve --region us-east-1 --instance myalias
  ccp-preflight serve --listen 0.0.0.0:9469 --interval 5m --config site.yaml --ice-servers creds.json
  ccp-preflight serve --lab --interval 30s        # self-test against local servers
`

// Defaults of serve.
const (
	defaultListen   = "127.0.0.1:9469"
	defaultInterval = 5 * time.Minute
	// shutdownGrace is how long in-flight HTTP answers get at exit.
	shutdownGrace = 5 * time.Second
)

func runServe(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, stdout, stderr, nil)
}

// serve is runServe under ctx; ready, if not nil, gets the address it
// listens on once it accepts connections (tests).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) int {
	var f checkFlags
	var listen string
	var interval time.Duration
	fs := newFlagSet("serve", serveHelp, stdout, stderr)
	f.register(fs)
	fs.StringVar(&listen, "listen", defaultListen, "`ADDR` (IP:PORT) to serve /metrics, /report and /healthz on; loopback by default")
	fs.DurationVar(&interval, "interval", defaultInterval, fmt.Sprintf("time between check runs (%v to %v)", exporter.MinInterval, exporter.MaxInterval))
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ccp-preflight serve: unexpected argument %q (see --help)\n", fs.Arg(0))
		return exitInput
	}
	var misplaced string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "format", "out", "no-progress", "verbose":
			if misplaced == "" {
				misplaced = fl.Name
			}
		}
	})
	if misplaced != "" {
		fmt.Fprintf(stderr, "ccp-preflight serve: --%s does not apply to serve (other formats: /report?format=html|text|junit|prom|nagios)\n", misplaced)
		return exitInput
	}
	if err := validateListen(listen); err != nil {
		return fail(stderr, "serve", err)
	}
	l, err := f.startLab(ctx)
	if err != nil {
		return fail(stderr, "serve --lab", err)
	}
	defer l.Close()
	opts := f.options(fs, l)
	cfg, err := preflight.Build(opts)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	if cfg.Browser.Enabled {
		return fail(stderr, "serve", &config.InputError{Msg: "the browser check (browser: true, --browser) needs a person at the browser: use it with check, not serve"})
	}
	if cfg.Ranges != nil && cfg.Ranges.Note != "" {
		fmt.Fprintf(stderr, "ccp-preflight serve: note: %s\n", cfg.Ranges.Note)
	}
	if err := validateInterval(interval, preflight.Deadline(cfg)); err != nil {
		return fail(stderr, "serve", err)
	}
	reloader := newRangesReloader(opts, cfg, stderr)
	reloader.onHangup(ctx)
	ex, err := exporter.New(exporter.Options{
		Run: func(ctx context.Context) *report.Report {
			return preflight.Run(ctx, reloader.current(), Version(), nil)
		},
		Interval: interval,
		Render:   report.Options{ShowIP: f.showIP, FailOn: result.Status(f.failOn)},
		Log:      stderr,
	})
	if err != nil {
		return fail(stderr, "serve", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return fail(stderr, "serve", &config.InputError{Msg: fmt.Sprintf("--listen %s: %v", listen, err)})
	}
	srv := &http.Server{
		Handler:           ex.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	addr := ln.Addr().String()
	fmt.Fprintf(stderr, "ccp-preflight serve: listening on http://%s (/metrics, /report.html, /healthz); checking %s every %v\n", addr, cfg.Region, interval)
	if ap, err := netip.ParseAddrPort(addr); err == nil && !ap.Addr().IsLoopback() {
		fmt.Fprintf(stderr, "ccp-preflight serve: note: %s is reachable from other hosts; the reports it serves name this site's targets (the public IP is masked in every format unless --show-ip)\n", addr)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready(addr)
	}
	loopDone := make(chan struct{})
	go func() { ex.Loop(ctx); close(loopDone) }()

	code := exitOK
	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintf(stderr, "ccp-preflight serve: %v\n", err)
		code = exitFail
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-loopDone
	return code
}

// validateListen accepts IP:PORT, [IPv6]:PORT, localhost:PORT and :PORT
// (every interface). Host names other than localhost are refused: what a
// name resolves to is not what the admin reviewed.
func validateListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return &config.InputError{Msg: fmt.Sprintf("--listen %q: want IP:PORT, e.g. %s", s, defaultListen)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 || strings.Trim(port, "0123456789") != "" {
		return &config.InputError{Msg: fmt.Sprintf("--listen %q: port must be a number from 0 to 65535", s)}
	}
	if host == "" || host == "localhost" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return &config.InputError{Msg: fmt.Sprintf("--listen %q: want an IP address (or localhost), not a host name", s)}
	}
	return nil
}

// validateInterval bounds --interval, and keeps one run (its deadline:
// the connectivity timeout plus the media duration) shorter than the
// interval, else every slot would be skipped and /healthz would say stuck.
func validateInterval(d, run time.Duration) error {
	switch {
	case d < exporter.MinInterval || d > exporter.MaxInterval:
		return &config.InputError{Msg: fmt.Sprintf("--interval %v: must be between %v and %v", d, exporter.MinInterval, exporter.MaxInterval)}
	case d <= run:
		return &config.InputError{Msg: fmt.Sprintf("--interval %v: must be longer than one run (%v with this --timeout and --duration)", d, run.Round(time.Second/10))}
	}
	return nil
}
