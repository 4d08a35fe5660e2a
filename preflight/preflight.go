// Package preflight is one check run, between the command line and the
// packages that do the work: Build turns the check flags and the config
// file into a complete, read-only config.Config (ranges loaded, or the
// lab's targets for `check --lab`), and Run runs every check on it and
// assembles the report.Report. `check` and `serve` share both, so a
// scheduled run is the same run as a command-line one; cmd/ccp-preflight
// keeps the flags, the output and the exit codes.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/internal/redact"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/probe"
	"github.com/ccp-preflight/ccp-preflight/ranges"
	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// Lab defaults: `check --lab` needs no --region, and the lab answers the
// instance's domains too (docs/LAB.md).
const (
	LabRegion   = "us-east-1"
	LabInstance = "lab"
)

// Options are the check flags as given on the command line (see
// `ccp-preflight check --help`); the zero value of a field means the flag
// was not given, so the config file's value, else the default, applies.
type Options struct {
	Region, Instance string
	// ReplicaRegion is --replica-region (Global Resiliency), over the
	// file's replica_region.
	ReplicaRegion string
	// ConfigFile is --config: the YAML file (docs/CONFIG.md) loaded first.
	ConfigFile string
	// ICEServersFile is --ice-servers (else the file's, else the
	// environment's credentials).
	ICEServersFile string
	// Ranges is --ranges: an ip-ranges.json file or URL.
	Ranges  string
	Profile string
	// FailOn is --fail-on and must be "fail" or "warn" (the flag's default
	// is fail); the Config does not carry it, Build only checks it.
	FailOn string
	// Skip is --skip: comma-separated check id prefixes (blanks ignored);
	// each must be a prefix of the checks' ids (result.Prefixes) or a
	// check's full id, else Build returns an input error naming the valid
	// prefixes.
	Skip string
	// Timeout, Duration and Capacity are --timeout, --duration and
	// --capacity; nil means not given, and a given zero is an error.
	Timeout, Duration *time.Duration
	Capacity          *int
	// Browser, BrowserCmd and BrowserTimeout are --browser, --browser-cmd
	// and --browser-timeout (nil: not given); see config.Browser.
	Browser        bool
	BrowserCmd     string
	BrowserTimeout *time.Duration
	// Lab, when not nil, is the running lab (`check --lab`): the Config
	// checks its servers (lab.Lab.Targets), Region and Instance default to
	// LabRegion and LabInstance, and no ranges file is read.
	Lab *lab.Lab
}

// Build validates o and the config file it names into a complete Config:
// targets, credentials, thresholds and the ranges set (ranges.Open on
// RangesFrom; the lab's synthetic set under Options.Lab). The Config is not
// changed afterwards and is safe to share between runs. Every error is a
// one-line *config.InputError naming the flag, key or file (exit code 2).
// Build reads files, the ranges cache and, for a --ranges URL, the network
// (within the connectivity timeout; on failure the cached or embedded copy
// with a Note, see openRanges); with Options.Lab it tells the lab DNS which
// names to answer.
func Build(o Options) (*config.Config, error) {
	var file *config.File
	if o.ConfigFile != "" {
		var err error
		if file, err = config.LoadFile(o.ConfigFile); err != nil {
			return nil, err
		}
	}
	if o.FailOn != string(result.Fail) && o.FailOn != string(result.Warn) {
		return nil, &config.InputError{Msg: fmt.Sprintf("--fail-on %q: want fail or warn", o.FailOn)}
	}
	if err := checkSkip(splitSkip(o.Skip)); err != nil {
		return nil, err
	}
	cfg, err := config.Build(file, overrides(o, file))
	if err != nil {
		return nil, err
	}
	if o.Lab != nil {
		o.Lab.Answer(cfg)
		return cfg, nil
	}
	if cfg.Ranges, err = openRanges(cfg); err != nil {
		return nil, &config.InputError{Msg: "ranges: " + err.Error()}
	}
	return cfg, nil
}

// openRanges loads cfg.RangesFrom. A URL is downloaded within the run's
// connectivity timeout (cfg.Timeout), not the 60 s a `ranges` command
// allows: when that fails (unreachable, slow, an HTTP error) the run goes
// on with the newer of the cache and the embedded copy, and the Set's
// Note says why (check prints it; ranges.freshness reports the copy in
// use). A download that arrives but is not a valid ranges file is still
// an error: the user named that file.
func openRanges(cfg *config.Config) (*ranges.Set, error) {
	if !ranges.IsURL(cfg.RangesFrom) {
		return ranges.Open(cfg.RangesFrom)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	s, err := ranges.OpenContext(ctx, cfg.RangesFrom)
	var ie *ranges.InputError
	if err == nil || errors.As(err, &ie) {
		return s, err
	}
	fallback, ferr := ranges.Open("")
	if ferr != nil {
		return nil, err
	}
	why := err.Error()
	if ctx.Err() != nil {
		why = fmt.Sprintf("%s: no complete answer within --timeout %v", redact.URL(cfg.RangesFrom), cfg.Timeout)
	}
	fallback.Note = strings.TrimSuffix(fmt.Sprintf("could not download the ranges (%s): using the %s instead; %s", why, copyName(fallback), fallback.Note), "; ")
	return fallback, nil
}

// copyName names the fallback ranges copy in a note.
func copyName(s *ranges.Set) string {
	if s.Source == ranges.SourceEmbedded {
		return "copy built into this program"
	}
	return "cached copy " + s.Source
}

// overrides maps o to config.Overrides, with the lab's defaults and
// targets when o.Lab is set; file (may be nil) tells whether the config
// file sets the region and instance itself.
func overrides(o Options, file *config.File) config.Overrides {
	co := config.Overrides{
		Region: o.Region, Instance: o.Instance, ICEServersFile: o.ICEServersFile, Ranges: o.Ranges,
		Profile: o.Profile, Timeout: o.Timeout, Duration: o.Duration, Capacity: o.Capacity,
		Skip: splitSkip(o.Skip), Browser: o.Browser, BrowserCmd: o.BrowserCmd, BrowserTimeout: o.BrowserTimeout,
		ReplicaRegion: o.ReplicaRegion,
	}
	if o.Lab == nil {
		return co
	}
	co.Lab, co.Targets = true, o.Lab.Targets()
	if co.Region == "" && (file == nil || file.Region == "") {
		co.Region = LabRegion
	}
	if co.Instance == "" && (file == nil || file.Instance == "") {
		co.Instance = LabInstance
	}
	return co
}

// splitSkip splits --skip at commas, dropping blanks; nil when empty.
func splitSkip(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Deadline is how long Run may take on cfg: the longest budget of the
// checks cfg does not skip (the connectivity timeout, plus the media
// duration when a media check runs) and a grace (probe.Deadline). serve
// keeps its --interval longer than this; the progress bar moves toward it.
func Deadline(cfg *config.Config) time.Duration {
	return probe.Deadline(cfg, probe.Registry())
}

// Run prepares the proxy configuration (within probe.ProxyPrepareBudget,
// only spent when a PAC or WPAD must be fetched), then runs every check on
// cfg concurrently under Deadline(cfg) and
// assembles the Report, stamped with version. It never returns nil: a
// failed network is in the results, and a ctx cancelled before the end
// gives a report marked Interrupted. The ICE credentials (cfg.Secrets) are
// redacted from every field. progress, if not nil, is called after each
// result with the number done and the total, from the runner's goroutines:
// it must be safe for concurrent use. Run does not change cfg.
func Run(ctx context.Context, cfg *config.Config, version string, progress func(done, total int)) *report.Report {
	return RunHooks(ctx, cfg, version, Hooks{Progress: progress})
}

// Hooks are a run's optional callbacks (nil: none). Both are called from
// the run's goroutines and must be safe for concurrent use.
type Hooks struct {
	// Progress is called after each result with the number done and the
	// total.
	Progress func(done, total int)
	// BrowserOpened is called once the browser check (cfg.Browser, check
	// --browser) serves its page, with the page's one-time URL, so that a
	// person can open it by hand if no browser came up.
	BrowserOpened func(url string)
}

// RunHooks is Run with hooks. With cfg.Browser.Enabled it also serves the
// browser check's page and opens the browser (probe.StartBrowser) before
// the checks start, and ends both when they are done.
func RunHooks(ctx context.Context, cfg *config.Config, version string, h Hooks) *report.Report {
	start := time.Now()
	env := probe.NewEnv(cfg)
	// The proxy settings are read, and a PAC (or WPAD's) fetched and
	// loaded, before the checks' budgets start: that takes no time unless
	// the configuration names a PAC or auto-detection, and then at most
	// probe.ProxyPrepareBudget.
	pctx, pcancel := context.WithTimeout(ctx, probe.ProxyPrepareBudget)
	env.PrepareProxies(pctx)
	pcancel()
	ctx, cancel := context.WithTimeout(ctx, Deadline(cfg))
	defer cancel()
	url, stopBrowser := probe.StartBrowser(ctx, env)
	defer stopBrowser()
	if url != "" && h.BrowserOpened != nil {
		h.BrowserOpened(url)
	}
	results := probe.Run(ctx, env, probe.Registry(), h.Progress)
	rep := &report.Report{
		Schema: report.Schema, Version: version, StartedAt: start.UTC(),
		DurationMS: float64(time.Since(start).Microseconds()) / 1000,
		Region:     cfg.Region, Instance: cfg.Instance, Checks: results, Verdict: result.Verdict(results),
		// Cancelled (Ctrl-C, a shutdown), not the run's own deadline.
		Interrupted: probe.Interrupted(ctx),
		Thresholds:  report.ThresholdsOf(cfg.Thresholds),
		Skip:        cfg.Skip,
	}
	if cfg.Ranges != nil {
		rep.Ranges = report.RangesInfo{Source: cfg.Ranges.Source, CreateDate: cfg.Ranges.CreateDate.UTC().Format(time.RFC3339), SyncToken: cfg.Ranges.SyncToken}
	}
	rep.Environment = Environment()
	rep.Redact(cfg.Secrets()...)
	// After Redact: findings quote the (redacted) results.
	rep.Findings = report.FindingsOf(rep.Checks, rep.Region)
	return rep
}
