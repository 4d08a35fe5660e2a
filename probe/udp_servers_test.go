package probe

// Real servers for the UDP/TURN probe tests: pion/turn in-process, coturn,
// a socket that never answers, one that answers garbage, a closed port, a
// small STUN responder that drops large requests or lies about mappings.
// Everything listens on 127.0.0.1 only.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// udpTestRealm is the realm of the test TURN servers.
const udpTestRealm = "preflight.test"

// udpTestTURN is a pion/turn server on 127.0.0.1 with one long-term user,
// listening on UDP, TCP and TLS (ports in the fields).
type udpTestTURN struct {
	UDP, TCP, TLS int
	Roots         *x509.CertPool
}

// startUDPTestTURN starts a pion/turn server accepting user:pass; it stops
// when the test ends.
func startUDPTestTURN(t *testing.T, user, pass string) *udpTestTURN {
	t.Helper()
	return startUDPTestTURNWith(t, user, pass, nil)
}

// startUDPTestTURNWith is startUDPTestTURN with a permission handler
// (nil: every peer allowed).
func startUDPTestTURNWith(t *testing.T, user, pass string, perm turn.PermissionHandler) *udpTestTURN {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert, roots := udpTestCert(t)
	sl, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	cfg := lab.TURNServerConfig(lab.TURNOptions{Realm: udpTestRealm, Username: user, Password: pass})
	cfg.PacketConnConfigs = []turn.PacketConnConfig{{PacketConn: pc, RelayAddressGenerator: lab.LoopbackRelay(), PermissionHandler: perm}}
	cfg.ListenerConfigs = []turn.ListenerConfig{
		{Listener: tl, RelayAddressGenerator: lab.LoopbackRelay()},
		{Listener: sl, RelayAddressGenerator: lab.LoopbackRelay()},
	}
	s, err := turn.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &udpTestTURN{
		UDP:   pc.LocalAddr().(*net.UDPAddr).Port,
		TCP:   tl.Addr().(*net.TCPAddr).Port,
		TLS:   sl.Addr().(*net.TCPAddr).Port,
		Roots: roots,
	}
}

// udpTestCert makes a self-signed certificate for 127.0.0.1 and localhost
// and the pool that trusts it.
func udpTestCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	ca, err := lab.NewCA("preflight test TURN")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return *cert, ca.Pool()
}

// udpTestServe runs a UDP server on 127.0.0.1 calling handle for every
// datagram (reply with pc.WriteTo); it stops when the test ends.
func udpTestServe(t testing.TB, handle func(pc net.PacketConn, b []byte, from net.Addr)) int {
	t.Helper()
	return udpTestServeOn(t, "127.0.0.1:0", handle)
}

// udpTestServeOn is udpTestServe on a given address (in a namespace the
// test made, when called inside it).
func udpTestServeOn(t testing.TB, addr string, handle func(pc net.PacketConn, b []byte, from net.Addr)) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64*1024)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if handle != nil {
				handle(pc, append([]byte(nil), buf[:n]...), from)
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// udpTestBlackhole is a UDP socket that reads and never answers: the
// symptom of a firewall that drops silently.
func udpTestBlackhole(t testing.TB) int { return udpTestServe(t, nil) }

// udpTestGarbage answers every datagram with bytes that are not STUN.
func udpTestGarbage(t *testing.T) int {
	return udpTestServe(t, func(pc net.PacketConn, _ []byte, from net.Addr) {
		_, _ = pc.WriteTo([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"), from)
	})
}

// udpTestClosedPort is a UDP port with nothing listening: the kernel
// answers ICMP port unreachable.
func udpTestClosedPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := pc.LocalAddr().(*net.UDPAddr).Port
	_ = pc.Close()
	return p
}

// udpTestSTUN is a minimal STUN Binding responder (pion/stun) that drops
// requests larger than maxBytes (0: no limit) and reports the mapped port
// shifted by portShift (a lying server stands in for a NAT that maps per
// destination).
func udpTestSTUN(t *testing.T, maxBytes, portShift int) int {
	return udpTestServe(t, udpTestSTUNHandler(maxBytes, portShift))
}

// udpTestSTUNHandler is udpTestSTUN's handler.
func udpTestSTUNHandler(maxBytes, portShift int) func(pc net.PacketConn, b []byte, from net.Addr) {
	return (func(pc net.PacketConn, b []byte, from net.Addr) {
		if maxBytes > 0 && len(b) > maxBytes {
			return
		}
		req := &stun.Message{Raw: b}
		if err := req.Decode(); err != nil || req.Type != stun.BindingRequest {
			return
		}
		ua := from.(*net.UDPAddr)
		res, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port + portShift}, stun.Fingerprint)
		if err == nil {
			_, _ = pc.WriteTo(res.Raw, from)
		}
	})
}

// udpTestConfig is a run's config with TURN servers at 127.0.0.1 on ports.
func udpTestConfig(ports ...int) *config.Config {
	c := &config.Config{Region: "us-east-1", Timeout: 5 * time.Second, Duration: time.Second}
	for _, p := range ports {
		c.TURN = append(c.TURN, catalog.Endpoint{Host: "127.0.0.1", Port: p, Service: catalog.AmazonConnect})
	}
	return c
}

// udpProbes are the probes this file's tests cover, in registry order.
func udpProbes() []Probe {
	return []Probe{stunBinding, turnAuthChallenge, turnAllocate, pathLargeDatagram, natMapping}
}

// udpRunProbe runs probes through the runner (budgets, recovery) and
// returns their results.
func udpRunProbe(t *testing.T, ps []Probe, cfg *config.Config) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return Run(ctx, NewEnv(cfg), ps, nil)
}

// udpOne runs p against cfg and returns the single result.
func udpOne(t *testing.T, p Probe, cfg *config.Config) Result {
	t.Helper()
	rs := udpRunProbe(t, []Probe{p}, cfg)
	if len(rs) != 1 {
		t.Fatalf("%s: got %d results, want 1: %+v", p.ID, len(rs), rs)
	}
	return rs[0]
}

// udpWant checks a result's status, phase and that reason and remedy
// contain the given texts.
func udpWant(t *testing.T, r Result, status Status, phase string, reason, remedy []string) {
	t.Helper()
	t.Logf("%s %s: %s phase=%q reason=%q remedy=%q metrics=%v details=%v", r.ID, r.Target, r.Status, r.Phase, r.Reason, r.Remedy, r.Metrics, r.Details)
	if r.Status != status || r.Phase != phase {
		t.Errorf("%s %s: status %s phase %q, want %s %q (reason %q)", r.ID, r.Target, r.Status, r.Phase, status, phase, r.Reason)
	}
	for _, s := range reason {
		if !strings.Contains(r.Reason, s) {
			t.Errorf("%s: reason %q does not contain %q", r.ID, r.Reason, s)
		}
	}
	for _, s := range remedy {
		if !strings.Contains(r.Remedy, s) {
			t.Errorf("%s: remedy %q does not contain %q", r.ID, r.Remedy, s)
		}
	}
}

// coturn is a coturn process on loopback with one user.
type coturn struct {
	Port int
}

// Addr is 127.0.0.1:Port.
func (c *coturn) Addr() string { return fmt.Sprintf("127.0.0.1:%d", c.Port) }

// startCoturn starts /usr/bin/turnserver on 127.0.0.1 (its own ports and
// pidfile; killed by PID at the end), or skips the test when it is missing.
func startCoturn(t testing.TB, user, pass string) *coturn {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		t.Skip("coturn (turnserver) is not installed: apt-get install coturn")
	}
	port := udpTestFreePort(t)
	minPort := 40000 + (port%200)*100 // 100 relay ports: coturn holds released ones a while
	dir := t.TempDir()
	cmd := exec.Command(bin, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		"--listening-port="+strconv.Itoa(port), "--min-port="+strconv.Itoa(minPort), "--max-port="+strconv.Itoa(minPort+99),
		"--user="+user+":"+pass, "--realm="+udpTestRealm, "--lt-cred-mech", "--fingerprint",
		"--no-tls", "--no-dtls", "--allow-loopback-peers", "--no-cli",
		"--pidfile="+filepath.Join(dir, "turnserver.pid"), "--log-file=stdout", "--simple-log")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Skipf("coturn would not start: %v", err)
	}
	logs := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		logs <- b.String()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("coturn log:\n%s", <-logs)
		}
	})
	// Wait until it answers a STUN Binding.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := DialUDP(context.Background(), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			x, _, _ := Binding(ctx, c, nil, Schedule{RTO: 50 * time.Millisecond})
			cancel()
			_ = c.Close()
			if x.OK() {
				return &coturn{Port: port}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("coturn did not answer on 127.0.0.1:%d within 5 s", port)
	return nil
}

// udpTestFreePort returns a UDP port that is free on 127.0.0.1 now (also
// checks TCP, coturn listens on both).
func udpTestFreePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		_ = pc.Close()
		if l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			_ = l.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// udpTestNeedRoot skips unless root with ip and nft available.
func udpTestNeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces and nftables)")
	}
	for _, c := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("needs %s (apt-get install iproute2 nftables)", c)
		}
	}
}
