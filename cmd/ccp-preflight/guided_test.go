package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGuidedRun is the agent's double-click run: the regions are a
// numbered list with cities, a wrong answer is asked again, a number picks
// a region, the check runs (against the lab here), the screen shows only
// the verdict and the findings, says where the HTML report was saved and
// repeats the verdict above "Press Enter".
func TestGuidedRun(t *testing.T) {
	t.Chdir(t.TempDir())
	in := strings.NewReader("us-east-9\n99\n1\nhttps://MyTeam.my.connect.aws/ccp-v2\n\n")
	var out, errb strings.Builder
	code := runGuided(in, &out, &errb, "--lab", "--skip", "media,capacity,signaling")
	got := out.String()
	if code != exitOK {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, got, errb.String())
	}
	const verdict = "READY: this network can make Amazon Connect softphone calls. Not tested (left out by --skip): media, capacity, signaling."
	for _, want := range []string{
		"   1  af-south-1      Cape Town\n",
		"us-east-1       N. Virginia\n",
		`"us-east-9" is not an Amazon Connect region`,
		`"99" is not an Amazon Connect region`,
		verdict,
		"A report to send to your IT team was saved here:\n  ",
		verdict + "\n\nPress Enter to close this window.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, verdict) != 2 {
		t.Errorf("the verdict should show twice (after the check and above Press Enter):\n%s", got)
	}
	for _, noise := range []string{"Summary", "PASS  ", "checks:", "region "} {
		if strings.Contains(got[strings.Index(got, "Checking"):], noise) {
			t.Errorf("the guided screen shows %q (only the verdict and the findings belong there):\n%s", noise, got)
		}
	}
	html, err := os.ReadFile(filepath.Join(".", guidedReport))
	if err != nil || !strings.Contains(string(html), "READY") || !strings.Contains(string(html), "instance myteam") {
		t.Fatalf("HTML report: %v (%d bytes): want the run of af-south-1 for the instance myteam", err, len(html))
	}
	if !strings.Contains(string(html), "region af-south-1") {
		t.Errorf("region 1 of the list (af-south-1) was not the one checked")
	}
}

// TestGuidedReportPath: when the program's folder cannot be written to,
// the report goes to the next folder (Documents, home) and the run says so.
func TestGuidedReportPath(t *testing.T) {
	ok := t.TempDir()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p, note := guidedReportPath([]string{notADir, filepath.Join(ok, "missing"), ok})
	if p != filepath.Join(ok, guidedReport) || !strings.Contains(note, notADir) || !strings.Contains(note, ok) {
		t.Errorf("path %q note %q", p, note)
	}
	if p, note := guidedReportPath([]string{ok}); p != filepath.Join(ok, guidedReport) || note != "" {
		t.Errorf("writable first folder: path %q note %q", p, note)
	}
	if got := pickRegion("", []string{"a"}); got != defaultRegion {
		t.Errorf("Enter picks %q", got)
	}
	if got := pickRegion("EU-WEST-2", nil); got != "eu-west-2" {
		t.Errorf("a name in capitals picks %q", got)
	}
}

// TestGuidedRunClosedInput: no answer at all (stdin closed) ends with the
// usage error, not a hang or a check against a guessed region.
func TestGuidedRunClosedInput(t *testing.T) {
	var out, errb strings.Builder
	if code := runGuided(strings.NewReader(""), &out, &errb, "--lab"); code != exitInput {
		t.Fatalf("exit %d, want %d", code, exitInput)
	}
	if !strings.Contains(errb.String(), "Usage:") {
		t.Errorf("stderr %q", errb.String())
	}
}

// TestSaveHTML: --save-html writes the HTML of the same run while the
// screen keeps the text report.
func TestSaveHTML(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.html")
	var out, errb strings.Builder
	if code := run([]string{"check", "--lab", "--skip", "media,signaling", "--no-progress", "--save-html", p}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b), "<html") || !strings.HasPrefix(out.String(), "READY") {
		t.Fatalf("html %v %d bytes; stdout %q", err, len(b), out.String()[:min(80, len(out.String()))])
	}
}
