//go:build linux

package probe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
	"golang.org/x/sys/unix"
)

// vpnInNetns runs f on a thread moved into network namespace name, then
// moves the thread back; if that fails the thread stays locked and is
// discarded.
func vpnInNetns(t *testing.T, name string, f func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(orig)
		fd, err := unix.Open("/var/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- err // the thread stays locked and dies with the goroutine
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
}

// TestEnvVPNTunnelInNamespace builds a namespace with a TUN interface and a
// plain (veth) interface and checks that the route through the TUN one is
// flagged and the other is not. No packet is sent.
func TestEnvVPNTunnelInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace and a TUN interface")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2 (ip)")
	}
	ns := fmt.Sprintf("ccpvpn%d", os.Getpid())
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	sh("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	sh("-n", ns, "link", "set", "lo", "up")
	sh("netns", "exec", ns, "ip", "tuntap", "add", "dev", "tun7", "mode", "tun")
	sh("-n", ns, "addr", "add", "10.99.7.1/24", "dev", "tun7")
	sh("-n", ns, "link", "set", "tun7", "up")
	sh("-n", ns, "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p")
	sh("-n", ns, "link", "set", "eth9p", "up")
	sh("-n", ns, "addr", "add", "10.99.8.1/24", "dev", "eth9")
	sh("-n", ns, "link", "set", "eth9", "up")

	cfg := &config.Config{Region: "us-east-1", Timeout: time.Second}
	env := NewEnv(cfg)
	var viaTun, direct Result
	vpnInNetns(t, ns, func() {
		viaTun = runEnvVPN(context.Background(), env, Target{Name: "10.99.7.2:3478", Endpoint: catalog.Endpoint{Host: "10.99.7.2", Port: 3478}})
		direct = runEnvVPN(context.Background(), env, Target{Name: "10.99.8.2:3478", Endpoint: catalog.Endpoint{Host: "10.99.8.2", Port: 3478}})
	})
	if viaTun.Status != Warn || viaTun.Details["interface"] != "tun7" || viaTun.Details["source_address"] != "10.99.7.1" {
		t.Fatalf("via tun: %+v", viaTun)
	}
	if !strings.Contains(viaTun.Reason, "media goes through the VPN") || !strings.Contains(viaTun.Remedy, "split tunnelling") || !strings.Contains(viaTun.Remedy, "UDP 3478 to 10.99.7.2") {
		t.Errorf("via tun: reason %q remedy %q", viaTun.Reason, viaTun.Remedy)
	}
	if direct.Status != Pass || direct.Details["interface"] != "eth9" || direct.Details["source_address"] != "10.99.8.1" {
		t.Fatalf("direct: %+v", direct)
	}
	// No route at all: unreachable, told apart.
	var noRoute Result
	vpnInNetns(t, ns, func() {
		noRoute = runEnvVPN(context.Background(), env, Target{Name: "10.99.9.2:3478", Endpoint: catalog.Endpoint{Host: "10.99.9.2", Port: 3478}})
	})
	if noRoute.Status != Fail || noRoute.Phase != result.PhaseRoute || !strings.Contains(noRoute.Reason, "unreachable") {
		t.Fatalf("no route: %+v", noRoute)
	}
}
