package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// interruptedReport is a run cut short by Ctrl-C in which every check that
// finished passed: what `check --duration 20s` printed as READY (exit 0)
// when interrupted after 3 s, before the fix.
func interruptedReport() *Report {
	r := passingReport()
	r.Interrupted = true
	r.Checks = append(r.Checks, result.Result{ID: "media.quality", Target: turnA, Status: result.Skip,
		Reason: "interrupted after 3.0s, before it finished: not tested"})
	return r
}

// skippedAllReport is `--skip` of every prefix: each check listed as left
// out, nothing of the network tested.
func skippedAllReport() *Report {
	r := &Report{Schema: Schema, Region: "us-east-1", Verdict: result.Pass, Skip: result.Prefixes()}
	for _, k := range result.Kinds() {
		p, _, _ := strings.Cut(k.ID, ".")
		r.Checks = append(r.Checks, result.Result{ID: k.ID, Status: result.Skip, Reason: "not tested: left out by --skip " + p})
	}
	return r
}

// onlyLocalReport is a run in which only checks that read this computer's
// files and settings ran (the ranges file's age, the proxy settings): they
// passed, but nothing of the network was tested.
func onlyLocalReport() *Report {
	r := &Report{Schema: Schema, Region: "us-east-1", Verdict: result.Pass}
	for _, k := range result.Kinds() {
		st := result.Skip
		if k.Local {
			st = result.Pass
		}
		r.Checks = append(r.Checks, result.Result{ID: k.ID, Status: st, Reason: "x"})
	}
	return r
}

// TestNoVerdictInAnyFormat: an interrupted run, and runs that tested
// nothing of the network, are said to be so in every format — never READY,
// never OK, never a green CI run. Before the fix the interrupted run's
// headline was "READY: … (Interrupted: partial report.)", Nagios
// "UNKNOWN - READY", the JSON carried only "verdict": "pass", and an
// all-skipped run read READY (0 passed).
func TestNoVerdictInAnyFormat(t *testing.T) {
	for _, tc := range []struct {
		name     string
		r        *Report
		outcome  Outcome
		headline string
	}{
		{"interrupted", interruptedReport(), OutcomeIncomplete, "INCOMPLETE: the run was interrupted after 7.4s"},
		{"every prefix skipped", skippedAllReport(), OutcomeNotChecked, "NOT CHECKED: no check of the network ran (--skip "},
		{"only local checks ran", onlyLocalReport(), OutcomeNotChecked, "NOT CHECKED: every check of the network was skipped"},
		{"no checks at all", &Report{Verdict: result.Pass}, OutcomeNotChecked, "NOT CHECKED: no check ran"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OutcomeOf(tc.r); got != tc.outcome {
				t.Fatalf("outcome %s, want %s", got, tc.outcome)
			}
			h := Headline(tc.r)
			if !strings.HasPrefix(h, tc.headline) || strings.Contains(h, "READY") {
				t.Errorf("headline %q, want it to start %q and never say READY", h, tc.headline)
			}
			for _, f := range Formats {
				out := render(t, f, tc.r, Options{})
				if f != "prom" && !strings.Contains(out, strings.SplitN(h, ":", 2)[0]) {
					t.Errorf("%s does not say %s:\n%.400s", f, strings.SplitN(h, ":", 2)[0], out)
				}
				if strings.Contains(out, "READY: this network") || strings.Contains(out, "READY WITH") {
					t.Errorf("%s calls it ready", f)
				}
			}
			var doc struct {
				Verdict, Outcome, Headline string
				Interrupted                bool
			}
			if err := json.Unmarshal([]byte(render(t, "json", tc.r, Options{})), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Outcome != string(tc.outcome) || doc.Headline != h || doc.Interrupted != tc.r.Interrupted {
				t.Errorf("json outcome %q headline %q interrupted %v", doc.Outcome, doc.Headline, doc.Interrupted)
			}
			if NagiosCode(tc.r, Options{}) != NagiosUnknown || !strings.HasPrefix(render(t, "nagios", tc.r, Options{}), "CCP-PREFLIGHT UNKNOWN - ") {
				t.Errorf("nagios: code %d, want UNKNOWN", NagiosCode(tc.r, Options{}))
			}
			junit := render(t, "junit", tc.r, Options{})
			if !strings.Contains(junit, `<error message="`+strings.SplitN(h, ":", 2)[0]) || !strings.Contains(junit, `errors="1"`) {
				t.Errorf("junit has no error case for a run that is no verdict:\n%s", junit)
			}
			prom := render(t, "prom", tc.r, Options{})
			if !strings.Contains(prom, `ccp_preflight_outcome{outcome="`+string(tc.outcome)+`"} 1`) || !strings.Contains(prom, `ccp_preflight_outcome{outcome="ready"} 0`) {
				t.Errorf("prom outcome:\n%s", prom)
			}
			if html := render(t, "html", tc.r, Options{}); !strings.Contains(html, `<header class="banner skip"`) {
				t.Errorf("html banner is not the no-verdict colour")
			}
		})
	}
}

// TestSkippedNamedInEveryFormat: checks left out by --skip are listed as
// skipped, and the headline names what was not tested, in every format (an
// HTML report of `--skip media` says media was not tested).
func TestSkippedNamedInEveryFormat(t *testing.T) {
	r := passingReport()
	r.Skip = []string{"media"}
	r.Checks = append(r.Checks, result.Result{ID: "media.quality", Status: result.Skip, Reason: "not tested: left out by --skip media"},
		result.Result{ID: "media.relay", Status: result.Skip, Reason: "not tested: left out by --skip media"})
	if OutcomeOf(r) != OutcomeReady {
		t.Fatalf("outcome %s, want ready (the rest of the network was tested)", OutcomeOf(r))
	}
	h := Headline(r)
	if !strings.HasSuffix(h, "Not tested (left out by --skip): media.") {
		t.Errorf("headline %q does not name what was left out", h)
	}
	for _, f := range Formats {
		out := render(t, f, r, Options{})
		if f == "prom" {
			if !strings.Contains(out, `ccp_preflight_check_status{check="media.quality",status="skip",target=""} 1`) {
				t.Errorf("prom: media.quality not listed as skipped")
			}
			continue
		}
		if !strings.Contains(out, "Not tested (left out by --skip): media") {
			t.Errorf("%s does not say media was not tested", f)
		}
		// nagios and text's first screen name them in the headline only
		// (text lists each check with --verbose).
		if f != "nagios" && f != "text" && !strings.Contains(out, "left out by --skip media") {
			t.Errorf("%s does not list the skipped checks with their reason", f)
		}
	}
	var doc struct{ Skip []string }
	if err := json.Unmarshal([]byte(render(t, "json", r, Options{})), &doc); err != nil || len(doc.Skip) != 1 || doc.Skip[0] != "media" {
		t.Errorf("json skip = %v (%v)", doc.Skip, err)
	}
}
