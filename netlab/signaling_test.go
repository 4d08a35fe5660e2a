//go:build linux

package netlab_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/netlab"
)

// The signaling scenarios (issue 13): the CCP v2 signaling WebSocket
// (signal.lab.test on its own address, lab.yaml's signaling_url) blocked
// while the CCP v1 host stays open; a TLS-inspecting proxy that strips
// Upgrade; a proxy that cuts tunnels idle for 5 s, less than the CCP's
// 10 s heartbeat. The proxies are `netlab wsproxy` (internal/wsproxy), run
// in the cloud namespace on an address the test adds, and put in the
// browser's path with `proxy:` in a copy of lab.yaml.

const remedySignal = `allow outbound TCP 443 to signal\.lab\.test`

func TestScenarioSignalingBlockedV1Open(t *testing.T) {
	l := scenario(t, "nlsig", "signaling-drop")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "signaling.websocket", target: netlab.SignalName, status: "fail",
		phase:  regexp.MustCompile(`^connect$`),
		reason: []string{`no answer|silently drops`, netlab.SignalName},
		remedy: []string{remedySignal, `CCP v2 signaling WebSocket`}})
	// The CCP v1 host, the catalog's only signaling host before, is open:
	// that alone used to give READY.
	expect(t, r, want{id: "tcp.connect", target: netlab.V1Name, status: "pass"})
	expect(t, r, want{id: "tls.handshake", target: netlab.V1Name, status: "pass"})
	expect(t, r, want{id: "signaling.latency", target: netlab.SignalName, status: "skip"})
}

// startProxy runs `netlab wsproxy ARGS` in the lab's cloud on ProxyAddr
// and returns a config file that puts it in the browser's path. It is
// stopped by PID when the test ends; its log is returned by the func.
func startProxy(t *testing.T, l *netlab.Lab, args ...string) (config string, log func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := execOut("ip", "-n", l.Cloud(), "addr", "add", netlab.ProxyAddr+"/24", "dev", netlab.IfCloud); err != nil {
		t.Fatalf("add the proxy's address: %v: %s", err, out)
	}
	helper := build(t, "netlab/cmd/netlab")
	listen := fmt.Sprintf("%s:%d", netlab.ProxyAddr, netlab.ProxyPort)
	ready := l.File("wsproxy.ready")
	logPath := l.File("wsproxy.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := netlab.InNS(context.Background(), l.Cloud(), helper,
		append([]string{"wsproxy", "-listen", listen, "-resolver", netlab.DNS + ":53", "-ready", ready}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM) // by PID, never by name
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if ctx.Err() != nil {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("wsproxy did not start: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	base, err := os.ReadFile(l.File(netlab.FileConfig))
	if err != nil {
		t.Fatal(err)
	}
	config = "lab-proxy.yaml"
	body := strings.TrimRight(string(base), "\n") + fmt.Sprintf("\nproxy: http://%s\n", listen)
	if err := os.WriteFile(l.File(config), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return config, func() string {
		stop()
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
}

func TestScenarioSignalingUpgradeStripped(t *testing.T) {
	l := scenario(t, "nlstrip")
	cfg, _ := startProxy(t, l, "-mode", "strip", "-cert", l.File("web.pem"), "-key", l.File("web.key"), "-ca", l.File(netlab.FileCA))
	r, code := runCheck(t, l, append([]string{"--config", cfg}, shortRun...)...)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "signaling.websocket", target: netlab.SignalName, status: "fail",
		phase:  regexp.MustCompile(`^upgrade$`),
		reason: []string{`426 Upgrade Required`, `strips Upgrade`, `through the proxy http://` + regexp.QuoteMeta(netlab.ProxyAddr)},
		remedy: []string{`keep the Upgrade and Connection headers`, `exempt the domain from inspection`}})
	// The same proxy carries plain HTTPS: the web checks pass through it.
	expect(t, r, want{id: "tcp.connect", target: netlab.V1Name, status: "pass"})
	expect(t, r, want{id: "tls.handshake", target: "connect.lab.test", status: "pass"})
}

func TestScenarioSignalingIdleCut(t *testing.T) {
	l := scenario(t, "nlidle")
	const idle = 5 * time.Second
	cfg, proxyLog := startProxy(t, l, "-mode", "idle", "-idle", idle.String())
	r, code := runCheck(t, l, append([]string{"--config", cfg}, shortRun...)...)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "signaling.websocket", target: netlab.SignalName, status: "fail",
		phase:  regexp.MustCompile(`^idle$`),
		reason: []string{`cut after \d+\.\d s without traffic`, `heartbeat every 10s`, `the proxy http://` + regexp.QuoteMeta(netlab.ProxyAddr)},
		remedy: []string{`raise the idle timeout`, `signal\.lab\.test:443`}})
	// What the proxy applied: it cut a tunnel for idleness, after 5 s
	// without a byte; the check saw the cut after that long idle (a little
	// less: its idle clock starts when the pong is read) and before its
	// next ping at 10 s (which would have kept the tunnel alive).
	if cs := r.find("signaling.websocket", netlab.SignalName); len(cs) > 0 {
		if s := cs[0].Metrics["idle_s"]; s < idle.Seconds()-0.5 || s >= 10 {
			t.Errorf("idle_s = %.2f, the proxy cuts after %v idle", s, idle)
		}
	}
	if log := proxyLog(); !regexp.MustCompile(`wsproxy: [1-9]\d* idle tunnels cut`).MatchString(log) {
		t.Errorf("the proxy reports no idle cut: %q", log)
	}
	expect(t, r, want{id: "tcp.connect", target: netlab.V1Name, status: "pass"})
}
