//go:build linux

package probe

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// udpNetnsSeq numbers the namespaces of one test process.
var udpNetnsSeq atomic.Int32

// udpTestInNetns creates a network namespace with loopback up and an
// nftables inet output rule dropping UDP to dport (a local firewall: the
// send fails at once with "operation not permitted"), runs fn on a thread
// inside it (sockets fn opens live there), and removes it all. It skips
// unless root with ip and nft.
func udpTestInNetns(t testing.TB, dport int, fn func()) {
	t.Helper()
	udpTestNeedRoot(t)
	name := fmt.Sprintf("ccpudp%d-%d", os.Getpid()%100000, udpNetnsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	rules := fmt.Sprintf(`table inet preflight {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport %d drop
  }
}
`, dport)
	f := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(f, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", name, "nft", "-f", f).CombinedOutput(); err != nil {
		t.Skipf("nft rules in the namespace failed: %v: %s", err, out)
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread is left locked (and so discarded) if restoring fails.
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			t.Errorf("open own netns: %v", err)
			return
		}
		defer orig.Close()
		ns, err := os.Open("/run/netns/" + name)
		if err != nil {
			t.Errorf("open netns: %v", err)
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			t.Errorf("setns: %v", err)
			return
		}
		fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			t.Errorf("setns back: %v", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	<-done
}
