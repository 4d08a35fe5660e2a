//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNftExportOverridesSiteDrop is the case the nftables export is for: a
// site whose own table drops UDP 3478. In a network namespace (the agent)
// joined by a veth to another (a TURN-like UDP echo server):
//
//  1. the site's table drops UDP 3478 out: a datagram to the server fails;
//  2. an accept in a separate table (what the export used to be) does not
//     help, because every base chain on the hook runs and the site's drop
//     still applies;
//  3. the export loaded into the site's table, with the one jump the
//     export's header says to add, lets UDP 3478 to the published
//     address through — and only there: a second address of the server,
//     not in the ranges, stays dropped;
//  4. loading the export again changes nothing (no duplicate rules).
func TestNftExportOverridesSiteDrop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, nftables)")
	}
	for _, c := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s not installed", c)
		}
	}
	id := os.Getpid() % 100000
	agent, server := fmt.Sprintf("ccpnfta%d", id), fmt.Sprintf("ccpnfts%d", id)
	n := id%200 + 20
	agentIP, serverIP, otherIP := fmt.Sprintf("10.97.%d.1", n), fmt.Sprintf("10.97.%d.2", n), fmt.Sprintf("10.97.%d.3", n)
	for _, ns := range []string{agent, server} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("ip netns add: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd(t, "link", "add", "vnfta", "netns", agent, "type", "veth", "peer", "name", "vnfts", "netns", server)
	ipCmd(t, "-n", agent, "addr", "add", agentIP+"/24", "dev", "vnfta")
	ipCmd(t, "-n", server, "addr", "add", serverIP+"/24", "dev", "vnfts")
	ipCmd(t, "-n", server, "addr", "add", otherIP+"/24", "dev", "vnfts")
	for _, a := range [][]string{{"-n", agent, "link", "set", "vnfta", "up"}, {"-n", server, "link", "set", "vnfts", "up"}, {"-n", server, "link", "set", "lo", "up"}} {
		ipCmd(t, a...)
	}

	// The server: a UDP echo on 3478 of both its addresses.
	var echo net.PacketConn
	inNetns(t, server, func() {
		var err error
		if echo, err = net.ListenPacket("udp4", "0.0.0.0:3478"); err != nil {
			t.Fatalf("echo server: %v", err)
		}
	})
	defer echo.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			k, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteTo(buf[:k], from)
		}
	}()
	var sock *net.UDPConn
	inNetns(t, agent, func() {
		var err error
		if sock, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(agentIP)}); err != nil {
			t.Fatalf("agent socket: %v", err)
		}
	})
	defer sock.Close()
	passes := func(to string) (bool, error) {
		if _, err := sock.WriteToUDP([]byte("ping"), &net.UDPAddr{IP: net.ParseIP(to), Port: 3478}); err != nil {
			return false, err
		}
		_ = sock.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		k, _, err := sock.ReadFromUDP(buf)
		return err == nil && string(buf[:k]) == "ping", err
	}
	if ok, err := passes(serverIP); !ok {
		t.Fatalf("no echo before any rule: %v", err)
	}

	// 1. The site's own table drops UDP 3478 out.
	nftIn(t, agent, `table inet filter {
	chain output {
		type filter hook output priority filter; policy accept;
		udp dport 3478 drop
	}
}
`)
	if ok, err := passes(serverIP); ok || !errors.Is(err, syscall.EPERM) {
		t.Fatalf("the site's drop does not drop (echo %v, %v)", ok, err)
	}
	// 2. An accept in a table of its own does not undo it.
	nftIn(t, agent, fmt.Sprintf(`table inet separate {
	chain output {
		type filter hook output priority -10; policy accept;
		ip daddr %s udp dport 3478 accept
	}
}
`, serverIP))
	if ok, _ := passes(serverIP); ok {
		t.Fatal("an accept in a separate table got past the site's drop: the premise of this test is wrong")
	}
	nftIn(t, agent, "delete table inet separate\n")

	// 3. The export, into the site's table, and the jump its header names.
	rangesFile := filepath.Join(t.TempDir(), "ip-ranges.json")
	body := fmt.Sprintf(`{"syncToken":"1790000000","createDate":"%s","prefixes":[
{"ip_prefix":"%s/32","region":"us-east-1","service":"AMAZON_CONNECT","network_border_group":"us-east-1"},
{"ip_prefix":"198.51.100.0/24","region":"us-east-1","service":"EC2","network_border_group":"us-east-1"}],
"ipv6_prefixes":[{"ipv6_prefix":"2001:db8:1::/48","region":"GLOBAL","service":"AMAZON_CONNECT","network_border_group":"GLOBAL"}]}`,
		time.Now().UTC().Format("2006-01-02-15-04-05"), serverIP)
	if err := os.WriteFile(rangesFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, export, errOut := runCmd(t, "ranges", "export", "--format", "nftables", "--region", "us-east-1", "--hook", "output",
		"--nft-table", "inet filter", "--ranges", rangesFile)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	jump := "nft insert rule inet filter output jump ccp_preflight"
	if !strings.Contains(export, "#   "+jump+"\n") {
		t.Fatalf("the export does not say how to jump to its chain:\n%s", export)
	}
	nftIn(t, agent, export)
	if out, err := exec.Command("ip", append([]string{"netns", "exec", agent}, strings.Fields(jump)...)...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", jump, err, out)
	}
	if ok, err := passes(serverIP); !ok {
		t.Fatalf("UDP 3478 to the published address is still blocked with the export loaded: %v\n%s", err, ruleset(t, agent))
	}
	if ok, _ := passes(otherIP); ok {
		t.Fatalf("UDP 3478 to an address outside the ranges passes: the export allows too much\n%s", ruleset(t, agent))
	}
	// 4. Loading it again: the same rules, once.
	before := ruleset(t, agent)
	nftIn(t, agent, export)
	if after := ruleset(t, agent); after != before {
		t.Errorf("reloading the export changed the ruleset:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if ok, err := passes(serverIP); !ok {
		t.Fatalf("after a reload: %v", err)
	}
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
}

// nftIn loads rules (nft -f text) in namespace ns.
func nftIn(t *testing.T, ns, rules string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(f, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("nft -f in %s: %v: %s\n%s", ns, err, out, rules)
	}
}

func ruleset(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list ruleset: %v: %s", err, out)
	}
	return string(out)
}

// inNetns runs fn on an OS thread inside namespace ns: sockets fn opens
// live there and keep working from any goroutine afterwards.
func inNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
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
		// The thread stays locked (and is discarded) if restoring fails.
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
}
