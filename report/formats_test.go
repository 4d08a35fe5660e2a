package report

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestProm(t *testing.T) {
	out := render(t, "prom", sampleReport(), Options{})
	for _, want := range []string{
		`ccp_preflight_check_success{check="stun.binding",target="` + turnB + `"} 0`,
		`ccp_preflight_check_success{check="stun.binding",target="` + turnA + `"} 1`,
		`ccp_preflight_check_success{check="media.quality",target="` + turnA + `"} 1`, // a warning still works
		`ccp_preflight_check_status{check="media.quality",status="warn",target="` + turnA + `"} 1`,
		`ccp_preflight_check_status{check="media.quality",status="skip",target="` + turnB + `"} 1`,
		`ccp_preflight_rtt_seconds{check="media.quality",target="` + turnA + `"} 0.0234`,
		`ccp_preflight_jitter_seconds{check="media.quality",target="` + turnA + `"} 0.0382`,
		`ccp_preflight_loss_ratio{check="media.quality",target="` + turnA + `"} 0.004`,
		`ccp_preflight_mos{check="media.quality",target="` + turnA + `"} 4.02`,
		`ccp_preflight_clock_skew_seconds{check="env.clock",target="acme-support.my.connect.aws:443"} -0.18`,
		`ccp_preflight_check_duration_seconds{check="dns.resolve",target="TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com"} 0.0098`,
		`ccp_preflight_verdict{verdict="fail"} 1`,
		`ccp_preflight_last_run_timestamp_seconds 1.7955558074125e+09`,
		`ccp_preflight_run_duration_seconds 7.4125`,
		`ccp_preflight_ranges_age_seconds 1.9126224125e+06`,
		`ccp_preflight_info{connect_instance="acme-support",ranges_source="embedded",region="us-east-1",version="v1.2.3"} 1`,
		"# TYPE ccp_preflight_rtt_seconds gauge",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("prom lacks %s", want)
		}
	}
	if strings.Contains(out, `check_success{check="media.quality",target="`+turnB) {
		t.Error("a skipped check must have no check_success")
	}
	// Every sample line is unique and well formed.
	line := regexp.MustCompile(`^ccp_preflight_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$`)
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "# ") {
			continue
		}
		if !line.MatchString(l) {
			t.Errorf("malformed sample: %q", l)
		}
		series := l[:strings.LastIndexByte(l, ' ')]
		if seen[series] {
			t.Errorf("duplicate series %s", series)
		}
		seen[series] = true
	}
}

func TestPromDuplicateTargetsAndEscaping(t *testing.T) {
	r := passingReport()
	r.Checks = append(r.Checks, r.Checks[0], result.Result{ID: "dns.resolve", Target: "a\"b\\c\nd", Status: result.Fail})
	out := render(t, "prom", r, Options{})
	if !strings.Contains(out, `target="`+r.Checks[0].Target+`#2"`) {
		t.Error("a second result with the same check and target needs its own series")
	}
	if !strings.Contains(out, `target="a\"b\\c\nd"`) {
		t.Error("label values must be escaped")
	}
	promtoolCheck(t, out)
}

// promtoolCheck runs `promtool check metrics` (lint included) on out.
func promtoolCheck(t *testing.T, out string) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool not installed (Debian package prometheus): skipping the metrics lint")
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, b)
	}
}

func TestPromtoolCheckMetrics(t *testing.T) {
	promtoolCheck(t, render(t, "prom", sampleReport(), Options{}))
	// Every metric name the probes set today passes the lint.
	r := passingReport()
	r.Checks[0].Metrics = map[string]float64{}
	for _, k := range []string{"addresses", "age_s", "allocate_ms", "burst_loss_ratio", "burst_ratio", "connect_ms", "dtls_ms",
		"duplicate_ratio", "duplicates", "handshake_ms", "ice_ms", "jitter_max_window_ms", "jitter_ms", "large_bytes", "loop_rtt_ms",
		"loss_max_window_ratio", "loss_ratio", "mapping_failures", "mos", "mouth_to_ear_ms", "outside_ranges", "packets_received",
		"packets_sent", "proxy_connect_ms", "received_packets", "reorder_ratio", "rtt_max_ms", "rtt_min_ms", "rtt_ms", "rtt_p95_ms",
		"send_late_p99_ms", "sent", "sent_packets", "skew_ms", "small_rtt_ms", "streams_asked", "streams_breach", "streams_held",
		"uncertainty_ms", "age_days", "share_percent", "Weird-Name.2"} {
		r.Checks[0].Metrics[k] = 1
	}
	out := render(t, "prom", r, Options{})
	for _, want := range []string{"ccp_preflight_rtt_p95_seconds{", "ccp_preflight_share_ratio{", "ccp_preflight_weird_name_2{",
		"ccp_preflight_packets_sent{", "ccp_preflight_clock_skew_seconds{", "ccp_preflight_tls_handshake_seconds{"} {
		if !strings.Contains(out, want) {
			t.Errorf("prom lacks %s", want)
		}
	}
	// One idea, one name: sent, sent_packets and packets_sent are one
	// family; the ranges file's age is the run-level metric only.
	for _, gone := range []string{"ccp_preflight_sent{", "ccp_preflight_sent_packets{", "ccp_preflight_received_packets{", "ccp_preflight_age_seconds{", "ccp_preflight_skew_seconds{"} {
		if strings.Contains(out, gone) {
			t.Errorf("prom still has %s", gone)
		}
	}
	// Real help text, and counters (none here) would end in _total.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# HELP ") && (strings.Contains(l, "Check metric ") && !strings.Contains(l, "weird") && !strings.Contains(l, "share")) {
			t.Errorf("generic help for a metric the checks set: %s", l)
		}
		if strings.HasPrefix(l, "# TYPE ") && strings.HasSuffix(l, " gauge") && strings.Contains(l, "_total ") {
			t.Errorf("a gauge named like a counter: %s", l)
		}
	}
	promtoolCheck(t, out)
	promtoolCheck(t, render(t, "prom", &Report{Verdict: result.Pass}, Options{}))
}

// TestEveryProbeMetricIsCurated: each metric a check sets (probe/*.go,
// SetMetric("…")) has a curated Prometheus name and help (metricNames), so
// a new metric gets a deliberate name, not the fallback rule's.
func TestEveryProbeMetricIsCurated(t *testing.T) {
	files, _ := filepath.Glob("../probe/*.go")
	// A literal key (a key made at run time, "tool_"+m, is listed by hand).
	re := regexp.MustCompile(`SetMetric\("([a-z0-9_]+)",`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := metricNames[m[1]]; !ok {
				t.Errorf("%s sets metric %q, which has no curated Prometheus name (report/metricnames.go)", f, m[1])
			}
		}
	}
	if n < 20 {
		t.Fatalf("found only %d SetMetric calls: is the pattern still right?", n)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool not installed (Debian package prometheus): skipping the rules check")
	}
	files, _ := filepath.Glob("../contrib/prometheus/*.yml")
	if len(files) == 0 {
		t.Fatal("no rule files in contrib/prometheus")
	}
	args := append([]string{"check", "rules"}, files...)
	if b, err := exec.Command("promtool", args...).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, b)
	}
	tests, _ := filepath.Glob("../contrib/prometheus/*_test.yaml")
	for _, f := range tests {
		if b, err := exec.Command("promtool", "test", "rules", f).CombinedOutput(); err != nil {
			t.Fatalf("promtool test rules %s: %v\n%s", f, err, b)
		}
	}
}

func TestGrafanaDashboardUsesOurMetrics(t *testing.T) {
	b, err := os.ReadFile("../contrib/grafana/ccp-preflight-fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range Metrics(sampleReport()) {
		names[f.Name] = true
	}
	used := regexp.MustCompile(`ccp_preflight_[a-z_]+`).FindAllString(string(b), -1)
	if len(used) == 0 {
		t.Fatal("dashboard uses no ccp_preflight metric")
	}
	for _, n := range used {
		if !names[n] && n != "ccp_preflight_runs_total" {
			t.Errorf("dashboard uses %s, which no format exports", n)
		}
	}
}

func TestNagios(t *testing.T) {
	for _, tc := range []struct {
		name  string
		r     *Report
		o     Options
		code  int
		first string
	}{
		{"fail", sampleReport(), Options{}, NagiosCritical, "CCP-PREFLIGHT CRITICAL - NOT READY"},
		{"warn", warningReport(), Options{}, NagiosWarning, "CCP-PREFLIGHT WARNING - READY WITH WARNINGS"},
		{"warn fail-on warn", warningReport(), Options{FailOn: result.Warn}, NagiosCritical, "CCP-PREFLIGHT CRITICAL - READY WITH WARNINGS"},
		{"pass", passingReport(), Options{}, NagiosOK, "CCP-PREFLIGHT OK - READY"},
		{"all skipped", &Report{Verdict: result.Pass, Checks: []result.Result{{ID: "stun.binding", Status: result.Skip}}}, Options{}, NagiosUnknown, "CCP-PREFLIGHT UNKNOWN - NOT CHECKED"},
		{"interrupted", func() *Report { r := passingReport(); r.Interrupted = true; return r }(), Options{}, NagiosUnknown, "CCP-PREFLIGHT UNKNOWN - INCOMPLETE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NagiosCode(tc.r, tc.o); got != tc.code {
				t.Errorf("code %d, want %d", got, tc.code)
			}
			out := render(t, "nagios", tc.r, tc.o)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if !strings.HasPrefix(lines[0], tc.first) {
				t.Errorf("first line %q, want prefix %q", lines[0], tc.first)
			}
			if strings.Count(lines[0], "|") != 1 {
				t.Errorf("first line needs exactly one | before perfdata: %q", lines[0])
			}
			if status, _, _ := strings.Cut(lines[0], " |"); len([]rune(status)) > NagiosStatusMax {
				t.Errorf("status line is %d characters, want ≤ %d: %q", len([]rune(status)), NagiosStatusMax, status)
			}
		})
	}
	out := render(t, "nagios", sampleReport(), Options{})
	lines := strings.Split(out, "\n")
	for _, want := range []string{"CCP-PREFLIGHT CRITICAL - NOT READY: The TURN server TurnNlb-8d3f2a7b1c9e4f05.elb.us-east-1.amazonaws.com does… (+1 more) |",
		"fail=1;;;0", "warn=1;;;0", "pass=9;;;0", "duration=7.412s;;;0"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("first line lacks %q: %s", want, lines[0])
		}
	}
	if status, _, _ := strings.Cut(lines[0], " |"); len([]rune(status)) > NagiosStatusMax {
		t.Errorf("status line is %d characters, want ≤ %d: %q", len([]rune(status)), NagiosStatusMax, status)
	}
	if !strings.HasPrefix(lines[1], "FAIL The TURN server TurnNlb-8d3f2a7b1c9e4f05") || !strings.Contains(lines[1], "Fix (the network / IT team): allow outbound UDP 3478") {
		t.Errorf("long output line 2 (the top finding): %q", lines[1])
	}
	if !strings.HasPrefix(lines[3], "FAIL stun.binding "+turnB+": read: no answer") || !strings.Contains(lines[3], "Fix: "+turnRemedy) {
		t.Errorf("long output line 4 (the failing check): %q", lines[3])
	}
	for _, want := range []string{
		"| 'media.quality " + turnA + " rtt'=23.4ms;;;0;",
		"'media.quality " + turnA + " loss'=0.4%;;;0;100",
		"'media.quality " + turnA + " mos'=4.02;;;1;5",
		"'stun.binding " + turnA + " rtt'=22.8ms;;;0;",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("perfdata lacks %q", want)
		}
	}
	// Perfdata: exactly two "|" in all (first line, long-output perfdata).
	if n := strings.Count(out, "|"); n != 2 {
		t.Errorf("%d '|' in plugin output, want 2", n)
	}
	// A reason with | and a label with quotes stay in their place.
	r := passingReport()
	r.Checks[0].ID, r.Checks[0].Status, r.Checks[0].Reason, r.Checks[0].Target = "stun.binding", result.Fail, "a|b", "it's"
	r.Checks[0].Metrics = map[string]float64{"rtt_ms": 1}
	r.Verdict = result.Fail
	out = render(t, "nagios", r, Options{})
	if strings.Count(out, "|") != 2 || !strings.Contains(out, "a/b") || !strings.Contains(out, "it''s rtt'=1ms") {
		t.Errorf("escaping:\n%s", out)
	}
	if l := NagiosUnknownLine("--region: unknown region \"xx\"\nmore"); l != `CCP-PREFLIGHT UNKNOWN - --region: unknown region "xx" more` {
		t.Errorf("unknown line %q", l)
	}
}

// TestNagiosPerfdataThresholds: with the run's thresholds in the report,
// perfdata carries warn and crit ranges in the guidelines' format: "W"
// alerts above W, "W:" below W (MOS), loss in percent.
func TestNagiosPerfdataThresholds(t *testing.T) {
	r := sampleReport()
	th, _ := quality.Profile("connect")
	r.Thresholds = ThresholdsOf(th)
	var b strings.Builder
	if err := Nagios(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, re := range []string{`rtt'=[0-9.]+ms;200;400;0;`, `loss'=[0-9.]+%;1;3;0;100`, `mos'=[0-9.]+;3.6:;3.1:;1;5`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("perfdata lacks %s:\n%s", re, out)
		}
	}
	r.Thresholds = nil
	b.Reset()
	_ = Nagios(&b, r, Options{})
	if !regexp.MustCompile(`rtt'=[0-9.]+ms;;;0;`).MatchString(b.String()) {
		t.Errorf("without thresholds the ranges stay empty:\n%s", b.String())
	}
}
