package browsercheck_test

// The browser check with a real browser: headless Debian Chromium (make
// test installs it) opened by the real `check --browser` run (preflight,
// as cmd/ccp-preflight calls it) against the in-process lab (--lab: pion
// TURN, miekg/dns, TLS), one scenario per test: a healthy run, the
// microphone denied, UDP blocked for the browser only by a managed
// policy, and a browser that loads the page but never answers.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/preflight"
	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// chromiumFlags are the flags every test browser runs with (docs/LAB.md);
// the fake device gives a microphone that beeps.
const chromiumFlags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking " +
	"--disable-component-update --disable-sync --use-fake-device-for-media-stream"

// chromium returns a --browser-cmd running headless Chromium with its own
// profile directory and extra flags; it skips the test without Chromium.
func chromium(t *testing.T, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("headless Chromium not installed (make test installs the chromium package)")
	}
	return strings.Join(append([]string{bin, chromiumFlags, "--user-data-dir=" + t.TempDir()}, extra...), " ")
}

// run is `check --lab --browser --browser-cmd cmd --duration 1s` as the
// binary runs it; it returns the report and the lab's TURN password.
func run(t *testing.T, cmd string, timeout time.Duration) (*report.Report, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := lab.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	o := preflight.Options{Lab: l, FailOn: "fail", Duration: config.Given(time.Second), Browser: true, BrowserCmd: cmd}
	if timeout > 0 {
		o.BrowserTimeout = config.Given(timeout)
	}
	cfg, err := preflight.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	opened := ""
	start := time.Now()
	rep := preflight.RunHooks(ctx, cfg, "test", preflight.Hooks{BrowserOpened: func(u string) { opened = u }})
	t.Logf("run took %v", time.Since(start).Round(time.Millisecond))
	if !strings.HasPrefix(opened, "http://127.0.0.1:") {
		t.Errorf("browser page URL %q, want http://127.0.0.1:PORT/TOKEN/", opened)
	}
	if testing.Verbose() || t.Failed() {
		for _, c := range rep.Checks {
			if strings.HasPrefix(c.ID, "browser.") {
				t.Logf("%s %s [%s] phase=%q reason=%q remedy=%q metrics=%v", c.ID, c.Target, c.Status, c.Phase, c.Reason, c.Remedy, c.Metrics)
			}
		}
	}
	return rep, l.TURN[0].Password
}

// check returns the results of id.
func check(rep *report.Report, id string) []result.Result {
	var out []result.Result
	for _, c := range rep.Checks {
		if c.ID == id {
			out = append(out, c)
		}
	}
	return out
}

// expect asserts that every result of id has status, phase, and a reason
// and remedy matching the patterns.
func expect(t *testing.T, rep *report.Report, id string, status result.Status, phase, reason, remedy string) {
	t.Helper()
	cs := check(rep, id)
	if len(cs) == 0 {
		t.Errorf("no %s in the report", id)
	}
	for _, c := range cs {
		if c.Status != status {
			t.Errorf("%s %s: %s, want %s (%s)", id, c.Target, c.Status, status, c.Reason)
			continue
		}
		if phase != "" && c.Phase != phase {
			t.Errorf("%s %s: phase %q, want %q", id, c.Target, c.Phase, phase)
		}
		if reason != "" && !regexp.MustCompile("(?i)"+reason).MatchString(c.Reason) {
			t.Errorf("%s %s: reason %q does not match %q", id, c.Target, c.Reason, reason)
		}
		if remedy != "" && !regexp.MustCompile("(?i)"+remedy).MatchString(c.Remedy) {
			t.Errorf("%s %s: remedy %q does not match %q", id, c.Target, c.Remedy, remedy)
		}
	}
}

// TestChromiumLabPass: a healthy lab and a browser that allows the
// microphone: one report with the four browser checks passing beside the
// network checks, in every format, and the TURN credential in none.
func TestChromiumLabPass(t *testing.T) {
	rep, secret := run(t, chromium(t, "--use-fake-ui-for-media-stream"), 0)
	if rep.Verdict == result.Fail {
		t.Errorf("verdict %s, want pass", rep.Verdict)
	}
	for _, id := range []string{"browser.support", "browser.microphone", "browser.udp", "stun.binding", "tls.handshake"} {
		expect(t, rep, id, result.Pass, "", "", "")
	}
	// The calls connect and lose nothing on loopback; a loaded machine
	// may give Chrome's jitter figure a warning (its audio capture is
	// paced by the same busy CPU), never a failure.
	for _, id := range []string{"browser.relay", "media.relay"} {
		for _, c := range check(rep, id) {
			if c.Status != result.Pass && (c.Status != result.Warn || c.Phase != result.PhaseQuality) {
				t.Errorf("%s on loopback: %s %s %q", id, c.Status, c.Phase, c.Reason)
			}
		}
	}
	expect(t, rep, "browser.support", result.Pass, "", `Chromium 1\d\d`, "")
	expect(t, rep, "browser.microphone", result.Pass, "", `allowed.*sound on the track`, "")
	for _, c := range check(rep, "browser.relay") {
		// Opus at 20 ms: about 50 packets a second, all received on loopback.
		if pps := c.Metrics["packets_per_s"]; pps < 40 || pps > 60 {
			t.Errorf("browser.relay sent %.1f packets/s, want about 50 (Opus 20 ms)", pps)
		}
		if c.Metrics["loss_ratio"] != 0 || c.Details["codec"] != "audio/opus" {
			t.Errorf("browser.relay on loopback: loss %v codec %q", c.Metrics["loss_ratio"], c.Details["codec"])
		}
		if _, ok := c.Metrics["tool_rtt_ms"]; !ok || !strings.Contains(c.Reason, "media.relay") {
			t.Errorf("browser.relay does not show the tool's own call beside it: %q %v", c.Reason, c.Metrics)
		}
	}
	for _, f := range report.Formats {
		var b bytes.Buffer
		// Verbose: text lists every check (its first screen holds only
		// the findings and the summary).
		if err := report.Render(&b, f, rep, report.Options{FailOn: result.Fail, Verbose: true}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out := b.String()
		if f != "nagios" { // Nagios lists only the checks that need attention
			for _, id := range []string{"browser.support", "browser.microphone", "browser.udp", "browser.relay", "stun.binding"} {
				if !strings.Contains(out, id) {
					t.Errorf("%s report has no %s", f, id)
				}
			}
		}
		if strings.Contains(out, secret) {
			t.Errorf("%s report contains the TURN credential", f)
		}
	}
}

// TestChromiumMicrophoneDenied: without the fake-UI flag headless Chromium
// denies the permission prompt, as an agent clicking Block would:
// browser.microphone fails naming the permission; the call itself still
// runs (with a generated tone).
func TestChromiumMicrophoneDenied(t *testing.T) {
	rep, _ := run(t, chromium(t), 0)
	expect(t, rep, "browser.microphone", result.Fail, result.PhaseMicrophone, `denied the microphone permission \(NotAllowedError\)`, `allow the microphone`)
	expect(t, rep, "browser.support", result.Pass, "", "", "")
	expect(t, rep, "browser.relay", result.Pass, "", "", "")
	if rep.Verdict != result.Fail {
		t.Errorf("verdict %s, want fail: without the microphone the agent cannot talk", rep.Verdict)
	}
}

// TestChromiumUDPBlockedByPolicy: a Chromium managed policy
// WebRtcIPHandling=disable_non_proxied_udp stops the browser's UDP while
// the network (the tool's own stun.binding) carries it: browser.udp and
// browser.relay fail and blame the browser, not the network.
//
// The policy must be in /etc/chromium/policies/managed, which every
// Chromium on the machine reads: so this Chromium runs in a mount
// namespace of its own (unshare -m) with a temporary directory bound over
// /etc/chromium, and no other process ever sees the policy. Needs root.
func TestChromiumUDPBlockedByPolicy(t *testing.T) {
	cmd := chromium(t, "--use-fake-ui-for-media-stream")
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private mount namespace (CI runs as root)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) not installed")
	}
	etc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(etc, "policies", "managed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/etc/chromium/master_preferences"); err == nil {
		_ = os.WriteFile(filepath.Join(etc, "master_preferences"), b, 0o644)
	}
	pol := filepath.Join(etc, "policies", "managed", "ccp-preflight-test.json")
	if err := os.WriteFile(pol, []byte(`{"WebRtcIPHandling": "disable_non_proxied_udp"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/etc/chromium"); err != nil {
		t.Skip("no /etc/chromium to bind the policy over")
	}
	// unshare -m -- sh -c 'mount --bind DIR /etc/chromium && exec "$@"' DIR chromium … URL
	wrapper := filepath.Join(t.TempDir(), "policy-chromium.sh")
	script := "#!/bin/sh\nexec " + unshare + " -m -- sh -c 'mount --bind \"$0\" /etc/chromium && exec \"$@\"' '" + etc + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, _ := run(t, wrapper+" "+cmd, 0)
	expect(t, rep, "stun.binding", result.Pass, "", "", "")
	expect(t, rep, "media.relay", result.Pass, "", "", "")
	expect(t, rep, "browser.udp", result.Fail, result.PhaseBrowser, `no UDP candidate.*passed \(stun\.binding\).*the cause is the browser`, `WebRtcIPHandling`)
	expect(t, rep, "browser.relay", result.Fail, result.PhaseBrowser, `media\.relay.*the cause is the browser`, `WebRtcIPHandling`)
	// The host's own policy directory was never touched.
	if _, err := os.Stat("/etc/chromium/policies/managed/ccp-preflight-test.json"); err == nil {
		t.Error("the test policy leaked into the host's /etc/chromium")
	}
}

// TestChromiumNeverAnswers: a browser that loads the page with JavaScript
// off never answers; the browser checks are skipped with that reason when
// --browser-timeout runs out, the network checks still give their
// verdict, and the run does not hang.
func TestChromiumNeverAnswers(t *testing.T) {
	cmd := chromium(t, "--blink-settings=scriptEnabled=false")
	start := time.Now()
	rep, _ := run(t, cmd, 5*time.Second)
	for _, id := range []string{"browser.support", "browser.microphone", "browser.udp", "browser.relay"} {
		expect(t, rep, id, result.Skip, "", `loaded the check page but its script did not run`, "")
	}
	expect(t, rep, "stun.binding", result.Pass, "", "", "")
	if rep.Verdict != result.Pass {
		t.Errorf("verdict %s: skipped browser checks must not fail the run", rep.Verdict)
	}
	// Bound generously (a loaded machine must not fail this): the run's
	// own deadline is --browser-timeout 5 s + --duration 1 s + grace.
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("run took %v: the browser check did not stop at its deadline", d)
	}
}

// TestBrowserNotStarted: a browser command that opens nothing (it exits
// at once) gives skips saying the page was never loaded.
func TestBrowserNotStarted(t *testing.T) {
	tr, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	rep, _ := run(t, tr, 5*time.Second)
	for _, id := range []string{"browser.support", "browser.udp"} {
		expect(t, rep, id, result.Skip, "", `did not load the check page`, "")
	}
}
