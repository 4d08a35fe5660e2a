package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGuidedRunBrowser: answering "y" to the double-click run's browser
// question adds --browser; here the "browser" opens nothing, so the
// browser checks are skipped with the reason and the verdict stands.
func TestGuidedRunBrowser(t *testing.T) {
	tr, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	t.Chdir(t.TempDir())
	in := strings.NewReader("\n\ny\n\n")
	var out, errb strings.Builder
	code := runGuided(in, &out, &errb, "--lab", "--skip", "media,capacity,signaling", "--duration", "1s", "--browser-cmd", tr, "--browser-timeout", "5s")
	got := out.String()
	if code != exitOK {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, got, errb.String())
	}
	for _, want := range []string{"Also check from inside your web browser?", "browser.support", "did not load the check page", "READY"} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(errb.String(), "browser check: opening http://127.0.0.1:") {
		t.Errorf("stderr does not show the page's address: %s", errb.String())
	}
}

// TestServeRefusesBrowser: the exporter has no person at a browser, so
// serve refuses --browser with an input error (exit 2), naming it.
func TestServeRefusesBrowser(t *testing.T) {
	var out, errb strings.Builder
	code := runServe([]string{"--lab", "--listen", "127.0.0.1:0", "--interval", "1m", "--browser"}, &out, &errb)
	if code != exitInput || !strings.Contains(errb.String(), "browser") {
		t.Errorf("exit %d, stderr %q; want %d naming the browser check", code, errb.String(), exitInput)
	}
}
