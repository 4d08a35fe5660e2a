package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

func render(t *testing.T, format string, r *Report, o Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, format, r, o); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return b.String()
}

func TestNoCredentialInAnyFormat(t *testing.T) {
	r, secrets := leakyReport()
	for _, f := range Formats {
		for _, show := range []bool{false, true} {
			out := render(t, f, r, Options{ShowIP: show, Color: true})
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("format %s leaks credential %q", f, s)
				}
			}
			if f != "prom" && !strings.Contains(out, "[redacted]") && f != "nagios" {
				t.Errorf("format %s: the buggy probe's reason should show [redacted]", f)
			}
		}
	}
}

func TestRedactLeavesShortSecrets(t *testing.T) {
	r := sampleReport()
	r.Redact("a", "")
	if !strings.Contains(render(t, "json", r, Options{}), "acme-support") {
		t.Fatal("a one-letter secret must not blank out the report")
	}
}

func TestRenderUnknownFormatAndNil(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, "xml", sampleReport(), Options{}); err == nil || !strings.Contains(err.Error(), "junit") {
		t.Fatalf("unknown format: got %v, want an error listing the formats", err)
	}
	if err := Render(&b, "text", nil, Options{}); err == nil {
		t.Fatal("nil report: want an error")
	}
}

func TestGroupsStableLayerOrder(t *testing.T) {
	gs := Groups(sampleReport().Checks)
	var got []result.Layer
	for _, g := range gs {
		got = append(got, g.Layer)
	}
	want := []result.Layer{result.LayerComputer, result.LayerDNS, result.LayerRanges, result.LayerWeb, result.LayerMedia, result.LayerQuality}
	if !slices.Equal(got, want) {
		t.Fatalf("layers %q, want %q", got, want)
	}
	// Within a layer, report order.
	q := gs[len(gs)-1].Checks
	if q[0].Target != turnA || q[1].Target != turnB {
		t.Fatalf("call quality order: %s, %s", q[0].Target, q[1].Target)
	}
}

// TestTextFirstScreen: without --verbose the text is the verdict, the
// findings (the failure first, on line 3, with who fixes it and the exact
// fix), the summary block and the counts, and no per-check lines.
func TestTextFirstScreen(t *testing.T) {
	out := render(t, "text", sampleReport(), Options{})
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "NOT READY: softphone calls will fail") {
		t.Fatalf("first line %q: want the verdict in plain words", lines[0])
	}
	if !strings.HasPrefix(lines[2], "1. FAIL  The TURN server TurnNlb-8d3f2a7b1c9e4f05.elb.us-east-1.amazonaws.com does not answer on UDP 3478") ||
		!strings.Contains(lines[3], "fix (the network / IT team): allow outbound UDP 3478 to TurnNlb-8d3f2a7b1c9e4f05") {
		t.Errorf("lines 3-4 %q / %q: want the failing TURN server first, with its fix", lines[2], lines[3])
	}
	if !strings.HasPrefix(lines[4], "2. WARN  Jitter 38.2 ms is above 30 ms") {
		t.Errorf("line 5 %q: want the jitter warning second", lines[4])
	}
	for _, want := range []string{"Summary", "UDP 3478            1 of 2 TURN servers answer", "TURN RTT            TurnNlb-d76454ac48d20c1e 22.8 ms",
		"ranges embedded of 2026-11-02", "12 checks: 9 passed, 1 warning, 1 failed, 1 skipped; every check: --verbose"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, "PASS  ") || strings.Contains(out, "SKIP  ") {
		t.Errorf("per-check lines without --verbose:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n > 20 {
		t.Errorf("%d lines: the first screen must stay short\n%s", n, out)
	}
	ok := render(t, "text", passingReport(), Options{})
	if !strings.Contains(ok, "Nothing to change") || strings.Contains(ok, "1. ") {
		t.Errorf("passing report:\n%s", ok)
	}
}

func TestText(t *testing.T) {
	out := render(t, "text", sampleReport(), Options{Verbose: true})
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "NOT READY: softphone calls will fail") || !strings.Contains(lines[0], "1 failed, 1 warning)") {
		t.Fatalf("first line %q: want the verdict in plain words", lines[0])
	}
	for _, want := range []string{
		"FAIL  stun.binding", turnB, "read: no answer to STUN Binding", "fix: " + turnRemedy,
		"WARN  media.quality", "jitter 38.2 ms", "loss 0.4%", "MOS 4.02",
		"SKIP  media.quality", "ranges embedded of 2026-11-02",
		"9 passed, 1 warning, 1 failed, 1 skipped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour without Options.Color")
	}
	// Layers appear once each, in order.
	prev := -1
	for _, l := range result.LayerOrder {
		i := strings.Index(out, "\n"+string(l)+"\n")
		if i < 0 {
			continue
		}
		if strings.Count(out, "\n"+string(l)+"\n") != 1 || i < prev {
			t.Errorf("layer %q repeated or out of order", l)
		}
		prev = i
	}
	// Passing checks show no fix line: the two findings' and the two checks'.
	if strings.Count(out, "fix:") != 2 || strings.Count(out, "fix (") != 2 {
		t.Errorf("want 2 check fix lines and 2 finding fix lines, got %d and %d", strings.Count(out, "fix:"), strings.Count(out, "fix ("))
	}
	col := render(t, "text", sampleReport(), Options{Color: true})
	if !strings.HasPrefix(col, ansiBold+ansiRed+"NOT READY") {
		t.Errorf("coloured verdict: %q", strings.SplitN(col, "\n", 2)[0])
	}
}

func TestTextHeadlines(t *testing.T) {
	for _, tc := range []struct {
		r    *Report
		want string
	}{
		{passingReport(), "READY: this network can make Amazon Connect softphone calls."},
		{warningReport(), "READY WITH WARNINGS: calls should connect, but 1 check(s) need attention."},
		{&Report{Verdict: result.Pass, Checks: []result.Result{{ID: "dns.resolve", Status: result.Skip}}}, "NOT CHECKED"},
		{&Report{Verdict: result.Fail, Interrupted: true, Checks: []result.Result{{ID: "dns.resolve", Status: result.Fail}}}, "INCOMPLETE: the run was interrupted"},
		{&Report{Verdict: result.Fail, Interrupted: true, Checks: []result.Result{{ID: "dns.resolve", Status: result.Fail}}}, "1 check already failed"},
		{&Report{Verdict: result.Pass}, "NOT CHECKED: no check ran"},
	} {
		if first := strings.SplitN(render(t, "text", tc.r, Options{}), "\n", 2)[0]; !strings.Contains(first, tc.want) {
			t.Errorf("headline %q, want %q", first, tc.want)
		}
	}
}

func TestTextNoTerminalInjection(t *testing.T) {
	r := passingReport()
	r.Checks[0].Status, r.Checks[0].Reason = result.Fail, "issuer \x1b]0;pwned\x07Corp CA\nsecond line"
	out := render(t, "text", r, Options{Verbose: true})
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("control characters from a reason reach the terminal: %q", out)
	}
	if !strings.Contains(out, "Corp CA second line") {
		t.Fatalf("reason not folded onto one line:\n%s", out)
	}
}

func TestJSONRoundTripAndNonFinite(t *testing.T) {
	r := sampleReport()
	r.Checks[0].Metrics["weird"] = mathNaN()
	out := render(t, "json", r, Options{})
	var back Report
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatalf("json: %v", err)
	}
	if back.Schema != Schema || back.Verdict != result.Fail || len(back.Checks) != len(r.Checks) {
		t.Fatalf("round trip: schema %q verdict %q checks %d", back.Schema, back.Verdict, len(back.Checks))
	}
	if _, ok := back.Checks[0].Metrics["weird"]; ok {
		t.Error("NaN metric should be left out")
	}
	if back.Checks[0].Metrics["jitter_ms"] != 38.2 || len(back.Checks[0].Series) != 5 {
		t.Errorf("metrics/series lost: %v %d", back.Checks[0].Metrics, len(back.Checks[0].Series))
	}
	if _, ok := r.Checks[0].Metrics["weird"]; !ok {
		t.Error("JSON must not modify the caller's report")
	}
}

func TestJUnit(t *testing.T) {
	out := render(t, "junit", sampleReport(), Options{})
	var doc junitSuites
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("junit is not XML: %v\n%s", err, out)
	}
	if doc.Tests != 12 || doc.Failures != 1 || doc.Skipped != 1 {
		t.Fatalf("tests %d failures %d skipped %d, want 12 1 1", doc.Tests, doc.Failures, doc.Skipped)
	}
	var failure *junitCase
	for _, s := range doc.Suites {
		for i, c := range s.Cases {
			if c.Failure != nil {
				failure = &s.Cases[i]
			}
		}
	}
	if failure == nil || failure.Name != "stun.binding "+turnB || failure.Failure.Type != "read" ||
		!strings.Contains(failure.Failure.Message, "no answer to STUN Binding") || !strings.Contains(failure.Failure.Text, "fix: "+turnRemedy) {
		t.Fatalf("failing testcase: %+v", failure)
	}
	if !strings.Contains(out, `<property name="verdict" value="fail">`) || !strings.Contains(out, "WARNING: WARN media.quality") {
		t.Errorf("junit lacks verdict property or warning text:\n%s", out)
	}
	// --fail-on warn turns the warning into a failure.
	var strict junitSuites
	if err := xml.Unmarshal([]byte(render(t, "junit", sampleReport(), Options{FailOn: result.Warn})), &strict); err != nil || strict.Failures != 2 {
		t.Fatalf("fail-on warn: failures %d (%v), want 2", strict.Failures, err)
	}
	// Every suite has a timestamp and a hostname; testcase names are unique,
	// also for a target checked twice and checks without a target.
	r2 := sampleReport()
	r2.Environment = &Environment{Hostname: "agent-pc-7"}
	r2.Checks = append(r2.Checks, r2.Checks[len(r2.Checks)-1], result.Result{ID: "turn.allocate", Status: result.Skip}, result.Result{ID: "turn.allocate", Status: result.Skip})
	var uniq junitSuites
	if err := xml.Unmarshal([]byte(render(t, "junit", r2, Options{})), &uniq); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range uniq.Suites {
		if s.Timestamp != "2026-11-24T21:30:00" || s.Hostname != "agent-pc-7" {
			t.Errorf("suite %q: timestamp %q hostname %q", s.Name, s.Timestamp, s.Hostname)
		}
		for _, c := range s.Cases {
			if seen[c.Name] {
				t.Errorf("testcase name %q repeated", c.Name)
			}
			seen[c.Name] = true
		}
	}
	// Control characters never make invalid XML.
	r := passingReport()
	r.Checks[0].Reason = "bad \x00\x1b byte"
	if err := xml.Unmarshal([]byte(render(t, "junit", r, Options{})), new(junitSuites)); err != nil {
		t.Fatalf("control characters: %v", err)
	}
}

func mathNaN() float64 { var z float64; return z / z }
