package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// MetricPrefix starts every metric name, in --format prom and in serve.
const MetricPrefix = "ccp_preflight_"

// MetricFamily is one Prometheus metric (all gauges): its name, help text,
// label names and samples. Metrics turns a Report into families; the prom
// format writes them as text and the serve exporter hands them to
// client_golang, so both expose the same names.
type MetricFamily struct {
	Name    string
	Help    string
	Labels  []string
	Samples []MetricSample
}

// MetricSample is one value with its label values (in Labels order).
type MetricSample struct {
	Values []string
	Value  float64
}

// reserved are run-level names a result's metric must not shadow.
var reserved = map[string]bool{}

func init() {
	for _, n := range []string{"check_success", "check_status", "check_duration_seconds", "verdict", "info",
		"last_run_timestamp_seconds", "ranges_age_seconds", "run_duration_seconds", "checks", "runs_total",
		"run_interrupted", "run_in_progress", "finding"} {
		reserved[MetricPrefix+n] = true
	}
}

// unitSuffixes convert a result metric's unit to Prometheus's base units
// (seconds, ratios), as its naming guidelines and promtool ask.
// A negative scale divides (9.8/1000 prints as 0.0098; 9.8*0.001 does not).
var unitSuffixes = []struct {
	suffix, base string
	scale        float64
}{
	{"_ms", "_seconds", -1e3},
	{"_s", "_seconds", 1},
	{"_sec", "_seconds", 1},
	{"_secs", "_seconds", 1},
	{"_us", "_seconds", -1e6},
	{"_ns", "_seconds", -1e9},
	{"_minutes", "_seconds", 60},
	{"_hours", "_seconds", 3600},
	{"_days", "_seconds", 86400},
	{"_percent", "_ratio", -100},
	{"_pct", "_ratio", -100},
}

// metricName maps a result metric to its Prometheus name: "_ms" values
// become "_seconds" (divided by 1000), "_s" and "_days" seconds, "_percent" a ratio
// (unitSuffixes), others keep their name; characters
// Prometheus does not allow become "_". ok is false for a name that would
// shadow a run-level metric.
func metricName(key string) (name string, scale float64, ok bool) {
	scale = 1
	base := key
	for _, u := range unitSuffixes {
		if b, cut := strings.CutSuffix(key, u.suffix); cut && b != "" {
			base, scale = b+u.base, u.scale
			break
		}
	}
	var sb strings.Builder
	for i, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r == '_' || (i > 0 && r >= '0' && r <= '9') {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	name = MetricPrefix + sb.String()
	return name, scale, !reserved[name] && sb.Len() > 0
}

// Metrics returns the report as metric families, sorted by name:
//
//   - ccp_preflight_check_success{check,target}: 1 when the check passed or
//     only warned, 0 when it failed (skipped checks have none);
//   - ccp_preflight_check_status{check,status,target}: 1 for the check's
//     status (pass, warn, fail, skip), 0 for the others;
//   - ccp_preflight_check_duration_seconds{check,target};
//   - every result metric by metricName: ccp_preflight_rtt_seconds,
//     …_jitter_seconds, …_loss_ratio, …_mos and the others, {check,target};
//   - ccp_preflight_verdict{verdict}: 1 for the run's verdict;
//   - ccp_preflight_info{connect_instance,ranges_source,region,version}: 1
//     (connect_instance, not instance: Prometheus owns that label);
//   - ccp_preflight_last_run_timestamp_seconds: when the run ended;
//   - ccp_preflight_run_duration_seconds;
//   - ccp_preflight_ranges_age_seconds: the ranges file's createDate age at
//     the run (absent when unknown);
//   - ccp_preflight_run_interrupted: 1 when the run was cancelled;
//   - ccp_preflight_finding{check,severity,title,who}: one series per
//     finding (FindingsOf), the number of results it explains — one root
//     cause, one series, so one alert (contrib/alertmanager inhibits the
//     per-check alerts it explains).
//
// Label names are in sorted order, as client_golang writes them, so the
// prom format and serve's /metrics print identical lines. Two results with
// the same check and target (possible with duplicate
// configured targets) get "#2", "#3"… appended to the target label so that
// every series stays unique. Non-finite values are left out.
func Metrics(r *Report) []MetricFamily {
	fams := map[string]*MetricFamily{}
	add := func(name, help string, labels []string, values []string, v float64) {
		if !finite(v) {
			return
		}
		if math.Abs(v) < 1e6 {
			// Nanosecond resolution is plenty: 9.8 ms shows as 0.0098 s,
			// not 0.009800000000000001.
			v = math.Round(v*1e9) / 1e9
		}
		f := fams[name]
		if f == nil {
			f = &MetricFamily{Name: name, Help: help, Labels: labels}
			fams[name] = f
		}
		for i, lv := range values {
			values[i] = strings.ToValidUTF8(lv, "\uFFFD")
		}
		f.Samples = append(f.Samples, MetricSample{Values: values, Value: v})
	}
	ct := []string{"check", "target"}
	seen := map[[2]string]int{}
	for _, c := range r.Checks {
		target := c.Target
		k := [2]string{c.ID, c.Target}
		seen[k]++
		if n := seen[k]; n > 1 {
			target = fmt.Sprintf("%s#%d", c.Target, n)
		}
		lv := []string{c.ID, target}
		if c.Status != result.Skip {
			add(MetricPrefix+"check_success", "1 when the check passed or only warned, 0 when it failed (skipped checks are absent).", ct, lv, b2f(c.Status != result.Fail))
		}
		for _, s := range []result.Status{result.Pass, result.Warn, result.Fail, result.Skip} {
			add(MetricPrefix+"check_status", "1 for the check's status (pass, warn, fail, skip), 0 for the others.", []string{"check", "status", "target"}, []string{c.ID, string(s), target}, b2f(c.Status == s))
		}
		add(MetricPrefix+"check_duration_seconds", "Wall time the check took, in seconds.", ct, lv, c.DurationMS/1000)
		used := map[string]bool{}
		for _, key := range sortedKeys(c.Metrics) {
			name, scale, ok := metricName(key)
			help := ""
			if cur, curated := metricNames[key]; curated {
				if cur.name == "" {
					continue // covered by a run-level metric
				}
				name, help, ok = MetricPrefix+cur.name, cur.help, !reserved[MetricPrefix+cur.name]
			}
			if !ok || used[name] {
				continue // reserved, or two keys with one name (sent, packets_sent): the first
			}
			used[name] = true
			if help == "" {
				help = fmt.Sprintf("Check metric %s of the last run", key)
				if scale != 1 {
					help += ", converted to base units"
				}
				help += " (see docs/CHECKS.md)."
			}
			v := c.Metrics[key]
			if scale < 0 {
				v /= -scale
			} else {
				v *= scale
			}
			add(name, help, ct, lv, v)
		}
	}
	for _, f := range r.findings() {
		add(MetricPrefix+"finding", "One root cause the last run found (the report's findings; one alert per cause, not per check): the results it explains, by the check behind it, severity, who can fix it and its title.",
			[]string{"check", "severity", "title", "who"}, []string{f.Checks[0], string(f.Severity), f.Title, string(f.Who)}, float64(f.Results+f.Dependent))
	}
	for _, s := range []result.Status{result.Pass, result.Warn, result.Fail} {
		add(MetricPrefix+"verdict", "1 for the run's verdict (pass, warn, fail), 0 for the others.", []string{"verdict"}, []string{string(s)}, b2f(r.Verdict == s))
	}
	add(MetricPrefix+"info", "Facts about the run as labels; always 1.", []string{"connect_instance", "ranges_source", "region", "version"},
		[]string{r.Instance, r.Ranges.Source, r.Region, r.Version}, 1)
	end := r.StartedAt.Add(time.Duration(r.DurationMS * float64(time.Millisecond)))
	if !r.StartedAt.IsZero() {
		add(MetricPrefix+"last_run_timestamp_seconds", "When the last check run ended, in seconds since the Unix epoch.", nil, nil, float64(end.UnixNano())/1e9)
		if t, err := time.Parse(time.RFC3339, r.Ranges.CreateDate); err == nil {
			add(MetricPrefix+"ranges_age_seconds", "Age of the ip-ranges.json in use (its createDate) at the last run, in seconds; AWS gives 30 days' notice of changes.", nil, nil, end.Sub(t).Seconds())
		}
	}
	add(MetricPrefix+"run_duration_seconds", "How long the last check run took, in seconds.", nil, nil, r.DurationMS/1000)
	add(MetricPrefix+"run_interrupted", "1 when the last run was cancelled before its end (partial results).", nil, nil, b2f(r.Interrupted))
	for _, o := range []Outcome{OutcomeReady, OutcomeWarnings, OutcomeNotReady, OutcomeIncomplete, OutcomeNotChecked} {
		add(MetricPrefix+"outcome", "1 for the run's outcome (ready, ready_with_warnings, not_ready; incomplete and not_checked are no verdict), 0 for the others.", []string{"outcome"}, []string{string(o)}, b2f(OutcomeOf(r) == o))
	}

	out := make([]MetricFamily, 0, len(fams))
	for _, name := range sortedKeys(fams) {
		out = append(out, *fams[name])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
