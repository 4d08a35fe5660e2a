// Package report renders a Report — the results of one check run — as
// text, json, junit, prom, nagios or html. It never probes.
package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// Schema is the JSON report's schema id; bump it only with a breaking change.
const Schema = "ccp-preflight/report/v1"

// Report is one check run, the ccp-preflight/report/v1 JSON document.
type Report struct {
	Schema     string          `json:"schema"`
	Version    string          `json:"version"`
	StartedAt  time.Time       `json:"started_at"`
	DurationMS float64         `json:"duration_ms"`
	Region     string          `json:"region"`
	Instance   string          `json:"instance"`
	Ranges     RangesInfo      `json:"ranges"`
	Verdict    result.Status   `json:"verdict"`
	Checks     []result.Result `json:"checks"`
	// Thresholds are the limits the media checks were graded against (nil
	// when unknown, e.g. a report built by hand).
	Thresholds *Thresholds `json:"thresholds,omitempty"`
	// Interrupted is true when the run was cancelled (Ctrl-C) before the
	// end: the report is incomplete (OutcomeIncomplete), not a verdict.
	Interrupted bool `json:"interrupted,omitempty"`
	// Findings group the checks into root causes, most important first
	// (FindingsOf); renderers lead with them. Nil in a report built by
	// hand: renderers then compute them.
	Findings []Finding `json:"findings"`
	// Environment describes the computer the run was made on (nil when
	// unknown).
	Environment *Environment `json:"environment,omitempty"`
	// Skip are the --skip prefixes: the checks they left out are in Checks
	// as skip results, and every format names them (Headline).
	Skip []string `json:"skip,omitempty"`
}

// RangesInfo says which ranges data the run used.
type RangesInfo struct {
	Source     string `json:"source"`
	CreateDate string `json:"create_date"`
	SyncToken  string `json:"sync_token"`
}

// Thresholds are a profile's limits as reported: metric name (rtt_ms,
// jitter_ms, loss_ratio, mos) to its warn and fail bounds and their source.
type Thresholds struct {
	Profile string                   `json:"profile"`
	Limits  map[string]quality.Limit `json:"limits"`
	Sources map[string]string        `json:"sources,omitempty"`
}

// ThresholdsOf is the report form of a quality profile.
func ThresholdsOf(t quality.Thresholds) *Thresholds {
	return &Thresholds{
		Profile: t.Profile,
		Limits:  map[string]quality.Limit{"rtt_ms": t.RTTMS, "jitter_ms": t.JitterMS, "loss_ratio": t.LossRatio, "mos": t.MOS},
		Sources: t.Sources,
	}
}

// Options change how a report renders.
type Options struct {
	// Color enables ANSI colour in text (only on a terminal, without NO_COLOR).
	Color bool
	// ShowIP shows public (mapped) addresses unmasked in html.
	ShowIP bool
	// FailOn is "fail" (default) or "warn": the status that makes the run fail.
	FailOn result.Status
	// Verbose adds every check, by layer, after text's first screen.
	Verbose bool
	// Brief makes text the verdict and the findings only (the guided run).
	Brief bool
}

// Formats lists the formats Render accepts.
var Formats = []string{"text", "json", "junit", "prom", "nagios", "html"}

// Render writes r in format to w. A nil r is an error, never a panic.
func Render(w io.Writer, format string, r *Report, o Options) error {
	if r == nil {
		return fmt.Errorf("no report to render")
	}
	switch format {
	case "text", "":
		return Text(w, r, o)
	case "json":
		return JSON(w, r)
	case "junit":
		return JUnit(w, r, o)
	case "prom":
		return Prom(w, r)
	case "nagios":
		return Nagios(w, r, o)
	case "html":
		return HTML(w, r, o)
	}
	return fmt.Errorf("unknown --format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// Layer is the report section of the check id, as the check declared it
// (result.Kind); an id no check declared is LayerOther.
func Layer(id string) result.Layer {
	k, _ := result.KindOf(id)
	return k.Layer
}

// Group is one layer's checks, in report order.
type Group struct {
	Layer  result.Layer
	Checks []result.Result
}

// Groups splits checks by layer, layers in LayerOrder, checks within a layer
// in their report order (registry then target order). Empty layers are left
// out.
func Groups(checks []result.Result) []Group {
	by := map[result.Layer][]result.Result{}
	for _, c := range checks {
		l := Layer(c.ID)
		by[l] = append(by[l], c)
	}
	var gs []Group
	for _, l := range result.LayerOrder {
		if len(by[l]) > 0 {
			gs = append(gs, Group{Layer: l, Checks: by[l]})
		}
	}
	return gs
}

// groupsIndexed is Groups as indexes into checks.
func groupsIndexed(checks []result.Result) []struct {
	Layer result.Layer
	idx   []int
} {
	by := map[result.Layer][]int{}
	for i, c := range checks {
		l := Layer(c.ID)
		by[l] = append(by[l], i)
	}
	var gs []struct {
		Layer result.Layer
		idx   []int
	}
	for _, l := range result.LayerOrder {
		if len(by[l]) > 0 {
			gs = append(gs, struct {
				Layer result.Layer
				idx   []int
			}{l, by[l]})
		}
	}
	return gs
}

// Attention returns the checks a reader must act on: failures first, then
// warnings, each in report order.
func Attention(checks []result.Result) []result.Result {
	var out []result.Result
	for _, s := range []result.Status{result.Fail, result.Warn} {
		for _, c := range checks {
			if c.Status == s {
				out = append(out, c)
			}
		}
	}
	return out
}

// failOn returns the status that fails the run (default fail).
func (o Options) failOn() result.Status {
	if o.FailOn == result.Warn {
		return result.Warn
	}
	return result.Fail
}

// finite reports whether v is a number every format can carry (JSON has no
// NaN or infinity); renderers leave other values out.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Counts returns how many results have each status.
func Counts(checks []result.Result) map[result.Status]int {
	m := map[result.Status]int{}
	for _, c := range checks {
		m[c.Status]++
	}
	return m
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}
