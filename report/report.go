// Package report renders a Report — the results of one check run — as
// text, json, junit, prom, nagios or html. It never probes.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/probe"
)

// Schema is the JSON report's schema id; bump it only with a breaking change.
const Schema = "ccp-preflight/report/v1"

// Report is one check run, the ccp-preflight/report/v1 JSON document.
type Report struct {
	Schema     string         `json:"schema"`
	Version    string         `json:"version"`
	StartedAt  time.Time      `json:"started_at"`
	DurationMS float64        `json:"duration_ms"`
	Region     string         `json:"region"`
	Instance   string         `json:"instance"`
	Ranges     RangesInfo     `json:"ranges"`
	Verdict    probe.Status   `json:"verdict"`
	Checks     []probe.Result `json:"checks"`
	// Interrupted is true when the run was cancelled (Ctrl-C) before the end.
	Interrupted bool `json:"interrupted,omitempty"`
}

// RangesInfo says which ranges data the run used.
type RangesInfo struct {
	Source     string `json:"source"`
	CreateDate string `json:"create_date"`
	SyncToken  string `json:"sync_token"`
}

// Options change how a report renders.
type Options struct {
	// Color enables ANSI colour in text (only on a terminal, without NO_COLOR).
	Color bool
	// ShowIP shows public (mapped) addresses unmasked in html.
	ShowIP bool
	// FailOn is "fail" (default) or "warn": the status that makes the run fail.
	FailOn probe.Status
}

// Formats lists the formats Render accepts.
var Formats = []string{"text", "json", "junit", "prom", "nagios", "html"}

// Render writes r in format to w.
func Render(w io.Writer, format string, r *Report, o Options) error {
	switch format {
	case "text", "":
		return Text(w, r, o)
	case "json":
		return JSON(w, r)
	}
	return fmt.Errorf("unknown --format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// Layer groups check ids for reading: the layer a check belongs to.
func Layer(id string) string {
	switch {
	case strings.HasPrefix(id, "ranges."):
		return "Published IP ranges"
	case strings.HasPrefix(id, "dns."):
		return "DNS"
	case strings.HasPrefix(id, "tcp."), strings.HasPrefix(id, "tls."):
		return "Web and signaling (TCP 443)"
	case strings.HasPrefix(id, "env."):
		return "This computer"
	case strings.HasPrefix(id, "stun."), strings.HasPrefix(id, "turn."), strings.HasPrefix(id, "path."), strings.HasPrefix(id, "nat."):
		return "Media reachability (UDP 3478)"
	case strings.HasPrefix(id, "media."), strings.HasPrefix(id, "capacity."):
		return "Call quality"
	}
	return "Other"
}

// Counts returns how many results have each status.
func Counts(checks []probe.Result) map[probe.Status]int {
	m := map[probe.Status]int{}
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
