package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/probe"
	"github.com/ccp-preflight/ccp-preflight/ranges"
	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

const checkHelp = `Usage: ccp-preflight check --region R [--instance ALIAS|URL] [flags]

Tests, from this computer, everything an Amazon Connect softphone needs:
DNS, TCP 443 and TLS to Connect's web, signaling and CloudFront endpoints,
UDP 3478 to Connect's TURN servers (STUN, TURN, large datagrams, NAT), and
the quality of the media path (RTT, jitter, loss, MOS). All checks run at
once; a healthy network answers in a few seconds plus --duration.

Examples:
  ccp-preflight check --region us-east-1 --instance myalias
  ccp-preflight check --region eu-west-2 --skip media,nat     # connectivity only
  ccp-preflight check --region us-east-1 --format html --out report.html
  ccp-preflight check --config site.yaml --ice-servers creds.json --duration 2m
  ccp-preflight check --lab                                     # self-test, no internet needed

Credentials (TURN username/credential) come from --ice-servers FILE or the
environment (` + config.EnvICEServersFile + `, ` + config.EnvICEServers + `), never
from the command line, and never appear in any output.

Exit codes: 0 ready (warnings allowed unless --fail-on warn), 1 a check
failed, 2 usage or input error.
`

// checkFlags are the flags of check, shared with serve.
type checkFlags struct {
	region, instance, configFile, iceServers, ranges, profile string
	format, out, failOn, skip                                 string
	duration, timeout                                         time.Duration
	capacity                                                  int
	lab, noProgress, showIP                                   bool
	saveHTML                                                  string
	// rendered is set once a nagios report is written (see nagiosMode).
	rendered bool
}

func (f *checkFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.region, "region", "", "Amazon Connect region of the instance, e.g. us-east-1")
	fs.StringVar(&f.instance, "instance", "", "instance alias or URL (https://ALIAS.my.connect.aws)")
	fs.StringVar(&f.configFile, "config", "", "YAML config `FILE` overriding targets, resolver, CAs, proxy, thresholds")
	fs.StringVar(&f.iceServers, "ice-servers", "", "`FILE` with TURN credentials as the CCP's [{urls,username,credential}]")
	fs.DurationVar(&f.duration, "duration", 0, "how long media.quality measures each TURN path (default 5s, max 30m)")
	fs.DurationVar(&f.timeout, "timeout", 0, "time budget for the connectivity checks (default 5s)")
	fs.StringVar(&f.format, "format", "text", "report format: "+strings.Join(report.Formats, "|"))
	fs.StringVar(&f.out, "out", "", "write the report to `FILE` instead of stdout")
	fs.StringVar(&f.failOn, "fail-on", "fail", "status that makes the exit code 1: fail|warn")
	fs.StringVar(&f.skip, "skip", "", "leave out checks whose id starts with these `PREFIX`es, comma-separated (e.g. media,nat)")
	fs.IntVar(&f.capacity, "capacity", 0, fmt.Sprintf("run capacity.streams with up to `N` concurrent agent streams (1-%d)", config.MaxCapacity))
	fs.StringVar(&f.ranges, "ranges", "", "ip-ranges.json `FILE|URL` to use (default: newer of the cache and the embedded copy)")
	fs.StringVar(&f.profile, "profile", "", "threshold profile: connect (default) or strict")
	fs.BoolVar(&f.lab, "lab", false, "run against TURN, DNS and TLS servers started on loopback (self-test)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no progress bar on stderr")
	fs.StringVar(&f.saveHTML, "save-html", "", "also write the HTML report of the same run to `FILE` (the screen keeps --format)")
	fs.BoolVar(&f.showIP, "show-ip", false, "show this network's public IP unmasked in the HTML report")
}

// checkExplicit rejects flags given explicitly with a value that would
// otherwise read as "not set" (--duration 0 must not mean the default).
func (f *checkFlags) checkExplicit(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "duration", "timeout":
			if d := fl.Value.(flag.Getter).Get().(time.Duration); d <= 0 && err == nil {
				err = &config.InputError{Msg: fmt.Sprintf("--%s %v: must be positive", fl.Name, d)}
			}
		case "capacity":
			if n := fl.Value.(flag.Getter).Get().(int); n <= 0 && err == nil {
				err = &config.InputError{Msg: fmt.Sprintf("--capacity %d: must be between 1 and %d streams", n, config.MaxCapacity)}
			}
		}
	})
	return err
}

// build validates the flags and config into a Config with ranges loaded.
func (f *checkFlags) build() (*config.Config, error) {
	var file *config.File
	if f.configFile != "" {
		var err error
		if file, err = config.LoadFile(f.configFile); err != nil {
			return nil, err
		}
	}
	if f.failOn != "fail" && f.failOn != "warn" {
		return nil, &config.InputError{Msg: fmt.Sprintf("--fail-on %q: want fail or warn", f.failOn)}
	}
	o := config.Overrides{
		Region: f.region, Instance: f.instance, ICEServersFile: f.iceServers, Ranges: f.ranges,
		Profile: f.profile, Timeout: f.timeout, Duration: f.duration, Capacity: f.capacity, Lab: f.lab,
	}
	if f.duration < 0 || f.timeout < 0 {
		return nil, &config.InputError{Msg: "--duration and --timeout must be positive"}
	}
	for _, s := range strings.Split(f.skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.Skip = append(o.Skip, s)
		}
	}
	if f.lab && o.Region == "" && (file == nil || file.Region == "") {
		o.Region = "us-east-1"
	}
	if f.lab && o.Instance == "" && (file == nil || file.Instance == "") {
		o.Instance = "lab" // so the lab answers the instance domains too
	}
	cfg, err := config.Build(file, o)
	if err != nil {
		return nil, err
	}
	if !f.lab {
		if cfg.Ranges, err = ranges.Open(cfg.RangesFrom); err != nil {
			return nil, &config.InputError{Msg: "ranges: " + err.Error()}
		}
	}
	return cfg, nil
}

func runCheck(args []string, stdout, stderr io.Writer) (code int) {
	var f checkFlags
	if nagiosRequested(args) {
		var finish func()
		stderr, finish = nagiosMode(&code, &f, stdout, stderr)
		defer finish()
	}
	fs := newFlagSet("check", checkHelp, stdout, stderr)
	f.register(fs)
	if code, stop := parseFlags(fs, args, stderr); stop {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ccp-preflight check: unexpected argument %q (see --help)\n", fs.Arg(0))
		return exitInput
	}
	if err := f.checkExplicit(fs); err != nil {
		return fail(stderr, "check", err)
	}
	if !validFormat(f.format) {
		fmt.Fprintf(stderr, "ccp-preflight check: unknown --format %q: want one of %s\n", f.format, strings.Join(report.Formats, ", "))
		return exitInput
	}
	cfg, err := f.build()
	if err != nil {
		return fail(stderr, "check", err)
	}
	if cfg.Ranges != nil && cfg.Ranges.Note != "" {
		fmt.Fprintf(stderr, "note: %s\n", cfg.Ranges.Note)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if f.lab {
		l, err := lab.Start(ctx)
		if err != nil {
			return fail(stderr, "check --lab", err)
		}
		defer l.Close()
		l.Configure(cfg)
	}

	var progress func(done, total int)
	if !f.noProgress && isTerminal(stderr) {
		bar := newProgress(stderr, probe.Deadline(cfg, probe.Registry()))
		defer bar.finish()
		progress = bar.update
	}
	rep := runReport(ctx, cfg, progress)
	return writeReport(rep, &f, stdout, stderr)
}

// runReport runs every probe and assembles the Report.
func runReport(ctx context.Context, cfg *config.Config, progress func(done, total int)) *report.Report {
	probes := probe.Registry()
	ctx, cancel := context.WithTimeout(ctx, probe.Deadline(cfg, probes))
	defer cancel()
	start := time.Now()
	results := probe.Run(ctx, probe.NewEnv(cfg), probes, progress)
	rep := &report.Report{
		Schema: report.Schema, Version: Version(), StartedAt: start.UTC(),
		DurationMS: float64(time.Since(start).Microseconds()) / 1000,
		Region:     cfg.Region, Instance: cfg.Instance, Checks: results, Verdict: probe.Verdict(results),
		Interrupted: context.Cause(ctx) == context.Canceled,
		Thresholds:  report.ThresholdsOf(cfg.Thresholds),
	}
	if cfg.Ranges != nil {
		rep.Ranges = report.RangesInfo{Source: cfg.Ranges.Source, CreateDate: cfg.Ranges.CreateDate.UTC().Format(time.RFC3339), SyncToken: cfg.Ranges.SyncToken}
	}
	rep.Redact(secretValues(cfg)...)
	return rep
}

// writeReport renders rep to --out or stdout and returns the exit code.
func writeReport(rep *report.Report, f *checkFlags, stdout, stderr io.Writer) int {
	opts := report.Options{Color: f.out == "" && isTerminal(stdout) && os.Getenv("NO_COLOR") == "", ShowIP: f.showIP, FailOn: probe.Status(f.failOn)}
	if f.out != "" {
		if err := writeFileAtomic(f.out, func(w io.Writer) error { return report.Render(w, f.format, rep, opts) }); err != nil {
			return fail(stderr, "check", &config.InputError{Msg: "--out: " + err.Error()})
		}
		fmt.Fprintln(stderr, report.Headline(rep))
	} else if err := report.Render(stdout, f.format, rep, opts); err != nil {
		return fail(stderr, "check", err)
	}
	if f.saveHTML != "" {
		html := opts
		html.Color = false
		if err := writeFileAtomic(f.saveHTML, func(w io.Writer) error { return report.Render(w, "html", rep, html) }); err != nil {
			return fail(stderr, "check", &config.InputError{Msg: "--save-html: " + err.Error()})
		}
	}
	if f.format == "nagios" {
		f.rendered = true
		return report.NagiosCode(rep, opts)
	}
	return exitCode(rep, opts.FailOn)
}

// exitCode maps a verdict to the exit code per DESIGN.md.
func exitCode(rep *report.Report, failOn probe.Status) int {
	switch {
	case rep.Verdict == probe.Fail:
		return exitFail
	case rep.Verdict == probe.Warn && failOn == probe.Warn:
		return exitFail
	}
	return exitOK
}

func validFormat(f string) bool {
	for _, x := range report.Formats {
		if f == x {
			return true
		}
	}
	return false
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is the stderr progress bar: it advances with time toward the
// run's deadline (media checks measure for --duration) and with finished
// checks, whichever is further, so a long soak still shows movement.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	start time.Time
	total time.Duration
	frac  float64 // share of checks done
	stop  chan struct{}
	done  sync.WaitGroup
}

const progressSteps = 1000

func newProgress(w io.Writer, deadline time.Duration) *progress {
	p := &progress{
		bar: progressbar.NewOptions(progressSteps, progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("checking"), progressbar.OptionClearOnFinish(),
			progressbar.OptionShowElapsedTimeOnFinish(), progressbar.OptionThrottle(100*time.Millisecond)),
		start: time.Now(), total: deadline, stop: make(chan struct{}),
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.update(-1, 0)
			}
		}
	}()
	return p
}

// update records done of total checks (done < 0: a clock tick only).
// Safe for concurrent use.
func (p *progress) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done >= 0 && total > 0 {
		p.frac = float64(done) / float64(total)
		p.bar.Describe(fmt.Sprintf("checking (%d/%d)", done, total))
	}
	f := max(p.frac, float64(time.Since(p.start))/float64(p.total))
	_ = p.bar.Set(int(min(f, 0.99) * progressSteps))
}

// finish stops the ticker and clears the bar.
func (p *progress) finish() {
	close(p.stop)
	p.done.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Finish()
}

// writeFileAtomic writes path via a temp file in the same directory and a
// rename, so a failed write never leaves a truncated file behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
