//go:build linux

package netlab_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The browser's own check (check --browser) in the namespace lab: the
// built binary runs in the agent namespace and starts headless Chromium
// there (--browser-cmd), so the browser's UDP crosses the same veth, wan
// and faults as the tool's own checks, to the lab's real coturn.

// browserCmd is a --browser-cmd for headless Chromium with a profile of
// its own; the test is skipped without Chromium.
func browserCmd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("headless Chromium not installed (make test installs the chromium package)")
	}
	return strings.Join([]string{bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--user-data-dir=" + t.TempDir()}, " ")
}

// TestScenarioBrowserHealthy is the control: in a healthy lab the browser
// reaches both TURN servers over UDP 3478 and makes its relay call, so a
// failure in the next scenario is the fault's, not the set-up's.
func TestScenarioBrowserHealthy(t *testing.T) {
	cmd := browserCmd(t)
	l := scenario(t, "nlbrok")
	r, code := runCheck(t, l, "--duration", "2s", "--browser", "--browser-cmd", cmd)
	if r.Verdict == "fail" || code != 0 {
		t.Errorf("verdict %s, exit %d: want no failure", r.Verdict, code)
	}
	for _, id := range []string{"browser.support", "browser.microphone", "browser.udp", "stun.binding"} {
		expect(t, r, want{id: id, status: "pass"})
	}
	// The calls connect; Chrome's jitter figure may warn on a loaded
	// machine (its audio capture shares the busy CPU), never fail.
	expect(t, r, want{id: "browser.relay", status: "pass|warn"})
	expect(t, r, want{id: "media.relay", status: "pass|warn"})
}

// TestScenarioBrowserUDPDrop: UDP 3478 silently dropped for the whole
// agent namespace. The tool's checks and the browser's fail alike, and
// the browser's say that the network, not the browser, is the cause,
// with the firewall rule to add.
func TestScenarioBrowserUDPDrop(t *testing.T) {
	cmd := browserCmd(t)
	l := scenario(t, "nlbrudp", "udp-drop")
	r, code := runCheck(t, l, "--duration", "2s", "--browser", "--browser-cmd", cmd)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "browser.support", status: "pass"})
	for _, turn := range []string{"turn1", "turn2"} {
		expect(t, r, want{id: "stun.binding", target: turn, status: "fail"})
		expect(t, r, want{id: "browser.udp", target: turn, status: "fail",
			reason: []string{`no answer`, `failed too \(stun\.binding\)`, `the network, not the browser`},
			remedy: []string{`allow outbound UDP 3478 to ` + turn}})
	}
	expect(t, r, want{id: "browser.relay", status: "fail", reason: []string{`the network, not the browser`}})
}
