package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/internal/safefile"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/preflight"
	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/ccp-preflight/ccp-preflight/result"
	"golang.org/x/term"
)

const checkHelp = `Usage: ccp-preflight check --region R [--instance ALIAS|URL] [--replica-region R] [flags]

Tests, from this computer, everything an Amazon Connect softphone needs:
DNS, TCP 443 and TLS to Connect's web, signaling and CloudFront endpoints,
the CCP's signaling WebSocket (held open for its 10 s heartbeat) and its
latency,
UDP 3478 to Connect's TURN servers (STUN, TURN, large datagrams, NAT), and
the quality of the media path (RTT, jitter, loss, MOS). All checks run at
once; a healthy network answers in a few seconds plus --duration. The report
leads with what to change: one finding per root cause, who can fix it and
the exact change, then a summary; --verbose adds every check.

Examples:
  ccp-preflight check --region us-east-1 --instance myalias
  ccp-preflight check --region us-east-1 --verbose            # also every check, by layer
  ccp-preflight check --region eu-west-2 --skip media,nat,signaling   # connectivity only, a few seconds
  ccp-preflight check --region us-east-1 --replica-region us-west-2  # Global Resiliency
  ccp-preflight check --region us-east-1 --format html --out report.html
  ccp-preflight check --config site.yaml --ice-servers creds.json --duration 2m
  ccp-preflight check --lab                                     # self-test, no internet needed
  ccp-preflight check --region us-east-1 --instance myalias --browser

--browser also runs the check from inside your browser (browser.support,
browser.microphone, browser.udp, browser.relay): the tool serves a page on
127.0.0.1 under a one-time token, opens it in the default browser (or
--browser-cmd), and merges what the page finds into the same report. Allow
the microphone when the browser asks. Checks with no answer within
--browser-timeout (plus --duration) are skipped with the reason.

Credentials (TURN username/credential) come from --ice-servers FILE or the
environment (` + config.EnvICEServersFile + `, ` + config.EnvICEServers + `), never
from the command line, and never appear in any output.

--skip PREFIX leaves out the checks whose id starts with PREFIX and a dot
(or a check's full id); the report lists them as skipped and names them
in its first line. An unknown prefix is an input error.

Exit codes: 0 ready (warnings allowed unless --fail-on warn), 1 a check
failed, 2 usage or input error, 3 no verdict: the run was interrupted
(Ctrl-C) or no check of the network ran (INCOMPLETE, NOT CHECKED).
`

// checkFlags are the flags of check, shared with serve.
type checkFlags struct {
	region, instance, configFile, iceServers, ranges, profile string
	replicaRegion                                             string
	format, out, failOn, skip                                 string
	duration, timeout                                         time.Duration
	capacity                                                  int
	lab, noProgress, showIP, verbose                          bool
	// brief: the guided run's screen (report.Options.Brief).
	brief          bool
	saveHTML       string
	browser        bool
	browserCmd     string
	browserTimeout time.Duration
	// rendered is set once a nagios report is written (see nagiosMode).
	rendered bool
}

func (f *checkFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.region, "region", "", "Amazon Connect region of the instance, e.g. us-east-1")
	fs.StringVar(&f.instance, "instance", "", "instance alias or URL (https://ALIAS.my.connect.aws)")
	fs.StringVar(&f.replicaRegion, "replica-region", "", "Global Resiliency replica `REGION` (us-east-1↔us-west-2, eu-central-1↔eu-west-2): also check its TURN and signaling")
	fs.StringVar(&f.configFile, "config", "", "YAML config `FILE` overriding targets, resolver, CAs, proxy, thresholds")
	fs.StringVar(&f.iceServers, "ice-servers", "", "`FILE` with TURN credentials as the CCP's [{urls,username,credential}]")
	fs.DurationVar(&f.duration, "duration", 0, "how long media.quality measures each TURN path (default 5s, max 30m)")
	fs.DurationVar(&f.timeout, "timeout", 0, "time budget for the connectivity checks (default 5s)")
	fs.StringVar(&f.format, "format", "text", "report format: "+strings.Join(report.Formats, "|"))
	fs.StringVar(&f.out, "out", "", "write the report to `FILE` instead of stdout")
	fs.StringVar(&f.failOn, "fail-on", "fail", "status that makes the exit code 1: fail|warn")
	fs.StringVar(&f.skip, "skip", "", "leave out checks whose id starts with these `PREFIX`es, comma-separated (e.g. media,nat; listed as skipped)")
	fs.IntVar(&f.capacity, "capacity", 0, fmt.Sprintf("run capacity.streams with up to `N` concurrent agent streams (1-%d)", config.MaxCapacity))
	fs.StringVar(&f.ranges, "ranges", "", "ip-ranges.json `FILE|URL` to use (default: newer of the cache and the embedded copy)")
	fs.StringVar(&f.profile, "profile", "", "threshold profile: connect (default) or strict")
	fs.BoolVar(&f.lab, "lab", false, "run against TURN, DNS and TLS servers started on loopback (self-test)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no progress bar on stderr")
	fs.BoolVar(&f.verbose, "verbose", false, "text: every check by layer after the findings and the summary")
	fs.StringVar(&f.saveHTML, "save-html", "", "also write the HTML report of the same run to `FILE` (the screen keeps --format)")
	fs.BoolVar(&f.showIP, "show-ip", false, "show this network's public IP unmasked in the HTML report (serve: in every format)")
	fs.BoolVar(&f.browser, "browser", false, "also check from inside the browser: open a page on 127.0.0.1 and merge its browser.* checks")
	fs.StringVar(&f.browserCmd, "browser-cmd", "", "with --browser: the browser `COMMAND` (program and arguments; the page's URL is appended) instead of the default browser")
	fs.DurationVar(&f.browserTimeout, "browser-timeout", 0, fmt.Sprintf("with --browser: how long the browser has to answer, plus --duration (default %v)", config.DefaultBrowserTimeout))
}

// options are the flags as preflight.Options, once fs is parsed: a
// --timeout, --duration or --capacity given explicitly is passed on even
// when zero, so that preflight.Build rejects it instead of reading "not
// set". l is the running lab under --lab, else nil.
func (f *checkFlags) options(fs *flag.FlagSet, l *lab.Lab) preflight.Options {
	o := preflight.Options{
		Region: f.region, Instance: f.instance, ConfigFile: f.configFile, ICEServersFile: f.iceServers,
		Ranges: f.ranges, Profile: f.profile, FailOn: f.failOn, Skip: f.skip, Lab: l,
		Browser: f.browser, BrowserCmd: f.browserCmd,
		ReplicaRegion: f.replicaRegion,
	}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "timeout":
			o.Timeout = config.Given(f.timeout)
		case "duration":
			o.Duration = config.Given(f.duration)
		case "capacity":
			o.Capacity = config.Given(f.capacity)
		case "browser-timeout":
			o.BrowserTimeout = config.Given(f.browserTimeout)
		}
	})
	return o
}

// startLab starts the lab under --lab (nil, nil otherwise); the caller
// closes it.
func (f *checkFlags) startLab(ctx context.Context) (*lab.Lab, error) {
	if !f.lab {
		return nil, nil
	}
	return lab.Start(ctx)
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	return checkWith(args, stdout, stderr, nil)
}

// guidedCheck is what the guided run asks of a check: a brief screen
// (the verdict and the findings), and the report back.
type guidedCheck struct {
	rep *report.Report
}

// checkWith is runCheck; with g set the text is brief and the report is
// left in g.rep.
func checkWith(args []string, stdout, stderr io.Writer, g *guidedCheck) (code int) {
	var f checkFlags
	f.brief = g != nil
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
	if !validFormat(f.format) {
		fmt.Fprintf(stderr, "ccp-preflight check: unknown --format %q: want one of %s\n", f.format, strings.Join(report.Formats, ", "))
		return exitInput
	}
	l, err := f.startLab(context.Background()) // stopped by the deferred Close
	if err != nil {
		return fail(stderr, "check --lab", err)
	}
	defer l.Close()
	cfg, err := preflight.Build(f.options(fs, l))
	if err != nil {
		return fail(stderr, "check", err)
	}
	if cfg.Ranges != nil && cfg.Ranges.Note != "" {
		fmt.Fprintf(stderr, "note: %s\n", cfg.Ranges.Note)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var onResult func(done, total int)
	var bar *progress
	if !f.noProgress && isTerminal(stderr) {
		bar = newProgress(stderr, expectedRun(cfg), preflight.Deadline(cfg))
		onResult = bar.update
	}
	rep := preflight.RunHooks(ctx, cfg, Version(), preflight.Hooks{Progress: onResult, BrowserOpened: func(url string) {
		bar.clear()
		fmt.Fprintf(stderr, "browser check: opening %s (if no browser tab appears, open that address in the browser you use for the CCP)\n", url)
	}})
	bar.finish() // cleared before the report prints
	if g != nil {
		g.rep = rep
	}
	return writeReport(rep, &f, stdout, stderr)
}

// writeReport renders rep to --out or stdout and returns the exit code.
func writeReport(rep *report.Report, f *checkFlags, stdout, stderr io.Writer) int {
	opts := report.Options{Color: f.out == "" && colorTerminal(stdout) && os.Getenv("NO_COLOR") == "", ShowIP: f.showIP, FailOn: result.Status(f.failOn), Verbose: f.verbose, Brief: f.brief}
	if f.out != "" {
		if err := safefile.Write(f.out, func(w io.Writer) error { return report.Render(w, f.format, rep, opts) }); err != nil {
			return fail(stderr, "check", &config.InputError{Msg: "--out: " + err.Error()})
		}
		fmt.Fprintln(stderr, report.Headline(rep))
	} else if err := report.Render(stdout, f.format, rep, opts); err != nil {
		return fail(stderr, "check", err)
	}
	if f.saveHTML != "" {
		html := opts
		html.Color, html.Brief = false, false
		if err := safefile.Write(f.saveHTML, func(w io.Writer) error { return report.Render(w, "html", rep, html) }); err != nil {
			return fail(stderr, "check", &config.InputError{Msg: "--save-html: " + err.Error()})
		}
	}
	if f.format == "nagios" {
		f.rendered = true
		return report.NagiosCode(rep, opts)
	}
	return exitCode(rep, opts.FailOn)
}

// exitCode maps a report to the exit code (README.md "Exit codes"): 3
// when it is no verdict (interrupted, or nothing of the network checked),
// else by its verdict.
func exitCode(rep *report.Report, failOn result.Status) int {
	switch {
	case report.OutcomeOf(rep).Verdictless():
		return exitIncomplete
	case rep.Verdict == result.Fail:
		return exitFail
	case rep.Verdict == result.Warn && failOn == result.Warn:
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
