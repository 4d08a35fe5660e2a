//go:build linux

package probe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
	"golang.org/x/sys/unix"
)

// udpNetnsSeq numbers the namespaces of one test process.
var udpNetnsSeq atomic.Int32

// udpTestNetns creates a network namespace with loopback up and the
// nftables rules (nft -f text; may be empty) loaded in it; it is removed
// when the test ends. It skips unless root with ip and nft.
func udpTestNetns(t testing.TB, rules string) string {
	t.Helper()
	udpTestNeedRoot(t)
	name := fmt.Sprintf("ccpudp%d-%d", os.Getpid(), udpNetnsSeq.Add(1)) // unique per run: two suites never share one
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	udpTestNft(t, name, rules)
	return name
}

// udpTestNft loads nftables rules into namespace ns.
func udpTestNft(t testing.TB, ns, rules string) {
	t.Helper()
	if rules == "" {
		return
	}
	f := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(f, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-f", f).CombinedOutput(); err != nil {
		t.Skipf("nft rules in the namespace failed: %v: %s", err, out)
	}
}

// udpTestSetns runs fn on an OS thread inside namespace ns: sockets fn
// opens live there (and keep working from any goroutine afterwards).
func udpTestSetns(t testing.TB, ns string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread stays locked (and is discarded) if restoring fails.
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			t.Errorf("open own netns: %v", err)
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			t.Errorf("open netns: %v", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
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

// udpTestInNetns creates a namespace where an nftables inet output rule
// drops UDP to dport (a local firewall: the send fails at once with
// "operation not permitted") and runs fn inside it.
func udpTestInNetns(t testing.TB, dport int, fn func()) {
	t.Helper()
	ns := udpTestNetns(t, fmt.Sprintf(`table inet preflight {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport %d drop
  }
}
`, dport))
	udpTestSetns(t, ns, fn)
}

// udpTestPath is two namespaces joined by a veth pair: the agent
// (10.99.N.1 on "vagent") and a server (10.99.N.2 on "vserver").
type udpTestPath struct {
	Agent, Server     string
	AgentIP, ServerIP string
}

// udpTestNewPath creates the agent and server namespaces and the veth
// between them; agentRules (nft -f text) load in the agent's namespace,
// where the egress hook on "vagent" drops silently, like a firewall
// further away (docs/LAB.md).
func udpTestNewPath(t testing.TB, agentRules string) udpTestPath {
	t.Helper()
	a, s := udpTestNetns(t, ""), udpTestNetns(t, "")
	n := udpNetnsSeq.Add(1)%200 + 1
	p := udpTestPath{Agent: a, Server: s, AgentIP: fmt.Sprintf("10.99.%d.1", n), ServerIP: fmt.Sprintf("10.99.%d.2", n)}
	for _, args := range [][]string{
		{"link", "add", "vagent", "netns", a, "type", "veth", "peer", "name", "vserver", "netns", s},
		{"-n", a, "addr", "add", p.AgentIP + "/24", "dev", "vagent"},
		{"-n", s, "addr", "add", p.ServerIP + "/24", "dev", "vserver"},
		{"-n", a, "link", "set", "vagent", "up"},
		{"-n", s, "link", "set", "vserver", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Skipf("ip %v: %v: %s", args, err, out)
		}
	}
	udpTestNft(t, a, agentRules)
	return p
}

// udpTestEgressDrop is an nftables netdev egress rule on the agent's veth:
// matching datagrams vanish silently (no EPERM), as at a firewall.
func udpTestEgressDrop(match string) string {
	return fmt.Sprintf(`table netdev preflight {
  chain egress {
    type filter hook egress device "vagent" priority 0; policy accept;
    %s drop
  }
}
`, match)
}

// TestSTUNBindingSilentDropNftables: UDP 3478 dropped by nftables on the
// path (egress hook): a timeout, phase "response", not a local-firewall
// EPERM.
func TestSTUNBindingSilentDropNftables(t *testing.T) {
	path := udpTestNewPath(t, udpTestEgressDrop("udp dport 3478"))
	udpTestSetns(t, path.Server, func() { udpTestServeOn(t, path.ServerIP+":3478", udpTestSTUNHandler(0, 0)) })
	cfg := udpTestConfig(3478)
	cfg.TURN[0].Host = path.ServerIP
	cfg.Timeout = time.Second
	var r Result
	udpTestSetns(t, path.Agent, func() {
		ctx, cancel := context.WithTimeout(context.Background(), udpBudget(cfg))
		defer cancel()
		r = stunBinding.Run(ctx, NewEnv(cfg), Target{Name: cfg.TURN[0].Addr(), Endpoint: cfg.TURN[0]})
	})
	udpWant(t, r, Fail, result.PhaseResponse, []string{"no answer", "silently drops"}, []string{"allow outbound UDP 3478 to " + path.ServerIP})

	// Control: the same path without the rule passes.
	open := udpTestNewPath(t, "")
	udpTestSetns(t, open.Server, func() { udpTestServeOn(t, open.ServerIP+":3478", udpTestSTUNHandler(0, 0)) })
	cfg.TURN[0].Host = open.ServerIP
	udpTestSetns(t, open.Agent, func() {
		ctx, cancel := context.WithTimeout(context.Background(), udpBudget(cfg))
		defer cancel()
		r = stunBinding.Run(ctx, NewEnv(cfg), Target{Name: cfg.TURN[0].Addr(), Endpoint: cfg.TURN[0]})
	})
	udpWant(t, r, Pass, "", nil, nil)
	if r.Details["mapped_address"] == "" || r.Details["mapped_address"][:len(open.AgentIP)] != open.AgentIP {
		t.Errorf("mapped_address %q, want the agent's %s", r.Details["mapped_address"], open.AgentIP)
	}
}

// TestLargeDatagramDroppedNftables: a firewall on the path dropping UDP
// datagrams above 600 bytes: small Bindings pass, 716-byte ones vanish.
func TestLargeDatagramDroppedNftables(t *testing.T) {
	path := udpTestNewPath(t, udpTestEgressDrop("udp length > 600"))
	udpTestSetns(t, path.Server, func() { udpTestServeOn(t, path.ServerIP+":3478", udpTestSTUNHandler(0, 0)) })
	cfg := udpTestConfig(3478)
	cfg.TURN[0].Host = path.ServerIP
	cfg.Timeout = time.Second
	var r Result
	udpTestSetns(t, path.Agent, func() {
		ctx, cancel := context.WithTimeout(context.Background(), udpBudget(cfg))
		defer cancel()
		r = pathLargeDatagram.Run(ctx, NewEnv(cfg), Target{Name: cfg.TURN[0].Addr(), Endpoint: cfg.TURN[0]})
	})
	udpWant(t, r, Fail, result.PhaseLarge, []string{"pass up to 576 bytes but 716-byte ones get no answer", "in either role", "look for a firewall dropping large UDP or fragments"},
		[]string{"allow UDP datagrams of at least 1272 bytes (1300 on the wire) and IP fragments to " + path.ServerIP + ":3478"})
}
