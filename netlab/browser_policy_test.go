//go:build linux

package netlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ccp-preflight/ccp-preflight/netlab"
)

// TestBrowserPolicyChromium asks a real browser whether browser.policy's
// verdict is true: Debian's Chromium, headless in the agent namespace,
// gathers relay candidates through the lab's coturn (UDP 3478, as Amazon
// Connect's TURN) as the CCP does (iceTransportPolicy relay). With the
// managed policy WebRtcIPHandling = disable_non_proxied_udp it gathers
// none — no softphone call can connect — while every network check of
// ccp-preflight passes; ccp-preflight, reading the same policy file, says
// NOT READY through browser.policy. Without the policy Chromium gathers a
// relay candidate and browser.policy passes.
//
// The policy is put in /etc/chromium/policies/managed only inside the
// processes' own mount namespace (ip netns exec makes one; a bind mount
// over /etc/chromium there is seen by nothing else on the machine).
func TestBrowserPolicyChromium(t *testing.T) {
	needLab(t)
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (make test installs it)")
	}
	t.Parallel()
	l := startLab(t, netlab.Options{Name: "nlchrome"})
	pass, err := os.ReadFile(l.File("turn.secret"))
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan []string, 4)
	page := fmt.Sprintf(`<!doctype html><script>
const cands = [];
let sent = false;
function done() {
  if (sent) return; sent = true;
  fetch("/result", {method: "POST", body: JSON.stringify(cands)});
}
const pc = new RTCPeerConnection({iceTransportPolicy: "relay",
  iceServers: [{urls: ["turn:%s:%d?transport=udp"], username: %q, credential: %q}]});
pc.createDataChannel("ccp");
pc.onicecandidate = e => { if (e.candidate) { if (e.candidate.candidate) cands.push(e.candidate.candidate); } else done(); };
pc.createOffer().then(o => pc.setLocalDescription(o));
setTimeout(done, 10000);
</script>`, netlab.TURN1, netlab.TURNPort, netlab.TURNUser, strings.TrimSpace(string(pass)))
	addr := serveInNS(t, l.Agent(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/result" {
			var c []string
			b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
			json.Unmarshal(b, &c)
			select {
			case results <- c:
			default:
			}
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, page)
	}))

	for _, c := range []struct {
		name      string
		policy    string
		relay     bool
		status    string
		verdict   string
		reasonHas string
	}{
		{"no policy", "", true, "pass", "pass", "no managed policy"},
		{"disable_non_proxied_udp", `{"WebRtcIPHandling": "disable_non_proxied_udp"}`, false, "fail", "fail", "every softphone call fails"},
	} {
		t.Run(c.name, func(t *testing.T) {
			etc := chromiumEtc(t, c.policy)
			profile := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := netlab.InNS(ctx, l.Agent(), "sh", "-c", `mount --bind "$0" /etc/chromium && exec "$@"`, etc,
				chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--user-data-dir="+profile, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
				"http://"+addr+"/")
			out := &strings.Builder{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				cmd.Wait()
			}()
			var cands []string
			select {
			case cands = <-results:
			case <-ctx.Done():
				t.Fatalf("Chromium posted no result: %.2000s", out.String())
			}
			relay := 0
			for _, cd := range cands {
				if strings.Contains(cd, " typ relay") {
					relay++
				}
			}
			t.Logf("Chromium (%s) gathered %d relay candidates through UDP TURN: %q", c.name, relay, cands)
			if (relay > 0) != c.relay {
				t.Errorf("Chromium gathered %d relay candidates with %s; want any: %v", relay, c.name, c.relay)
			}
			// ccp-preflight with the same policy file in the same place.
			r := runInEtc(t, l, etc)
			expect(t, r, want{id: "browser.policy", status: c.status, reason: []string{c.reasonHas}})
			expect(t, r, want{id: "stun.binding", target: "turn1", status: "pass"})
			expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "pass"})
			if r.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s (as the browser: relay candidates %v)", r.Verdict, c.verdict, c.relay)
				for _, x := range r.Checks {
					if x.Status == "fail" || x.Status == "warn" {
						t.Logf("  %v", x)
					}
				}
			}
		})
	}
}

// chromiumEtc makes a copy of /etc/chromium with policy (if any) as
// policies/managed/ccp.json.
func chromiumEtc(t *testing.T, policy string) string {
	t.Helper()
	dir := t.TempDir()
	if b, err := os.ReadFile("/etc/chromium/master_preferences"); err == nil {
		os.WriteFile(filepath.Join(dir, "master_preferences"), b, 0o644)
	}
	if policy != "" {
		pd := filepath.Join(dir, "policies", "managed")
		if err := os.MkdirAll(pd, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pd, "ccp.json"), []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	return dir
}

// runInEtc runs ccp-preflight (connectivity only, as in the lab's
// scenarios) in the agent namespace with etc mounted over /etc/chromium.
func runInEtc(t *testing.T, l *netlab.Lab, etc string) Report {
	t.Helper()
	bin := build(t, "cmd/ccp-preflight")
	ctx, cancel := context.WithTimeout(context.Background(), checkBudget)
	defer cancel()
	cmd := netlab.InNS(ctx, l.Agent(), "sh", "-c", `mount --bind "$0" /etc/chromium && exec "$@"`, etc,
		bin, "check", "--config", netlab.FileConfig, "--ranges", netlab.FileRanges, "--format", "json", "--no-progress",
		"--ice-servers", netlab.FileCreds, "--skip", "media,capacity,nat")
	cmd.Dir = l.Dir
	cmd.Env = append(os.Environ(), l.Env()...)
	out, _ := cmd.Output()
	var r Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("not a JSON report: %v: %.500s", err, out)
	}
	for _, c := range r.find("browser.policy", "") {
		t.Logf("ccp-preflight: verdict %s; browser.policy %s [%s] %s", r.Verdict, c.Target, c.Status, c.Reason)
	}
	return r
}

// serveInNS serves h on a listener opened inside namespace ns (the agent's
// address, so Chromium there reaches it) and returns its address.
func serveInNS(t *testing.T, ns string, h http.Handler) string {
	t.Helper()
	var (
		ln  net.Listener
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // discarded if restoring fails
		orig, e := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if e != nil {
			err = e
			return
		}
		defer orig.Close()
		target, e := os.Open("/run/netns/" + ns)
		if e != nil {
			err = e
			return
		}
		defer target.Close()
		if err = unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			return
		}
		ln, err = net.Listen("tcp", netlab.AgentRouted+":0")
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
