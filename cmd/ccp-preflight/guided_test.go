package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGuidedRun is the agent's double-click run: a wrong region is asked
// again, the check runs (against the lab here), the verdict is on screen,
// the HTML report is written beside it, and the window waits for Enter.
func TestGuidedRun(t *testing.T) {
	t.Chdir(t.TempDir())
	in := strings.NewReader("us-east-9\n\nhttps://MyTeam.my.connect.aws/ccp-v2\n\n")
	var out, errb strings.Builder
	code := runGuided(in, &out, &errb, "--lab", "--skip", "media,capacity")
	got := out.String()
	if code != exitOK {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, got, errb.String())
	}
	for _, want := range []string{
		`"us-east-9" is not an Amazon Connect region.`,
		"READY: this network can make Amazon Connect softphone calls.",
		"A report to send to your IT team: ",
		"Press Enter to close this window.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "instance myteam") || !strings.Contains(got, "myteam.my.connect.aws") {
		t.Errorf("the instance given (its URL) is checked; screen:\n%s", got)
	}
	html, err := os.ReadFile(filepath.Join(".", guidedReport))
	if err != nil || !strings.Contains(string(html), "READY") {
		t.Fatalf("HTML report: %v (%d bytes)", err, len(html))
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
