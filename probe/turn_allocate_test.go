package probe

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/internal/impair"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// Distinctive credentials, to find any leak.
const (
	udpTestUser = "agent-user-8f3a"
	udpTestPass = "s3cret-credential-77c1"
)

// udpTestICE is a config whose ICE servers list urls with the test
// credentials (user/pass override when given).
func udpTestICE(user, pass string, urls ...string) *config.Config {
	c := udpTestConfig()
	c.ICEServers = []config.ICEServer{{URLs: urls, Username: config.Secret(user), Credential: config.Secret(pass)}}
	return c
}

// udpNoSecret fails if a result, as JSON, contains a credential.
func udpNoSecret(t *testing.T, rs ...Result) {
	t.Helper()
	b, _ := json.Marshal(rs)
	for _, s := range []string{udpTestUser, udpTestPass} {
		if strings.Contains(string(b), s) || strings.Contains(fmt.Sprintf("%+v", rs), s) {
			t.Errorf("credential %q leaked into the result: %s", s, b)
		}
	}
}

func TestTURNAllocatePassPion(t *testing.T) {
	srv := startUDPTestTURN(t, udpTestUser, udpTestPass)
	for _, c := range []struct{ url, transport string }{
		{fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", srv.UDP), "udp"},
		{fmt.Sprintf("turn:127.0.0.1:%d?transport=tcp", srv.TCP), "tcp"},
		{fmt.Sprintf("turns:127.0.0.1:%d?transport=tcp", srv.TLS), "tls"},
	} {
		t.Run(c.transport, func(t *testing.T) {
			cfg := udpTestICE(udpTestUser, udpTestPass, c.url)
			cfg.Roots = srv.Roots
			r := udpOne(t, turnAllocate, cfg)
			udpWant(t, r, Pass, "", nil, nil)
			if r.Details["transport"] != c.transport || !strings.HasPrefix(r.Details["relayed_address"], "127.0.0.1:") || r.Metrics["rtt_ms"] <= 0 {
				t.Errorf("details %v metrics %v", r.Details, r.Metrics)
			}
			if r.Target != c.url {
				t.Errorf("target %q, want the URL", r.Target)
			}
			udpNoSecret(t, r)
		})
	}
}

func TestTURNAllocatePassCoturn(t *testing.T) {
	ct := startCoturn(t, udpTestUser, udpTestPass)
	cfg := udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", ct.Port))
	r := udpOne(t, turnAllocate, cfg)
	udpWant(t, r, Pass, "", nil, nil)
	udpNoSecret(t, r)
}

func TestTURNAllocateWrongCredentials(t *testing.T) {
	// A TURN server with other credentials: pion/turn, then coturn.
	other := startUDPTestTURN(t, "someone-else", "other-pass")
	cfg := udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:127.0.0.1:%d", other.UDP))
	r := udpOne(t, turnAllocate, cfg)
	udpWant(t, r, Fail, result.PhaseAuth, []string{"TURN rejected the credentials: 401"}, []string{"fresh iceServers"})
	udpNoSecret(t, r)

	ct := startCoturn(t, "someone-else", "other-pass")
	cfg = udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:127.0.0.1:%d", ct.Port))
	r = udpOne(t, turnAllocate, cfg)
	udpWant(t, r, Fail, result.PhaseAuth, []string{"TURN rejected the credentials: 401"}, nil)
	udpNoSecret(t, r)
}

func TestTURNAllocateNetworkFailures(t *testing.T) {
	srv := startUDPTestTURN(t, udpTestUser, udpTestPass)
	closedTCP := func() int {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		return p
	}()
	cases := []struct {
		name, url, phase string
		reason, remedy   []string
		max              time.Duration
	}{
		{"udp-blackhole", fmt.Sprintf("turn:127.0.0.1:%d", udpTestBlackhole(t)), result.PhaseAllocate,
			[]string{"Allocate request", "no answer", "silently drops"}, []string{"allow outbound UDP"}, 3500 * time.Millisecond},
		{"tcp-refused", fmt.Sprintf("turn:127.0.0.1:%d?transport=tcp", closedTCP), result.PhaseConnect,
			[]string{"TCP", "refused"}, []string{"allow outbound TCP", "TURN over TCP"}, time.Second},
		{"tls-untrusted", fmt.Sprintf("turns:127.0.0.1:%d", srv.TLS), result.PhaseTLS,
			[]string{"TLS handshake", `issued by "CN=preflight test TURN,`, "does not trust"}, []string{"TLS inspection"}, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := udpTestICE(udpTestUser, udpTestPass, c.url) // no Roots: the test CA is unknown
			r := udpOne(t, turnAllocate, cfg)
			udpWant(t, r, Fail, c.phase, c.reason, c.remedy)
			if d := time.Duration(r.DurationMS * float64(time.Millisecond)); d > c.max {
				t.Errorf("took %v, want under %v", d, c.max)
			}
			udpNoSecret(t, r)
		})
	}
}

func TestTURNAllocateNoCredentialsSkips(t *testing.T) {
	r := udpOne(t, turnAllocate, udpTestConfig(3478))
	udpWant(t, r, Skip, "", []string{"no TURN credentials given (--ice-servers FILE or $CCP_PREFLIGHT_ICE_SERVERS_FILE)"}, nil)
}

func TestTURNAllocatePermissionRefused(t *testing.T) {
	srv := startUDPTestTURNWith(t, udpTestUser, udpTestPass, func(net.Addr, net.IP) bool { return false })
	cfg := udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:127.0.0.1:%d", srv.UDP))
	r := udpOne(t, turnAllocate, cfg)
	udpWant(t, r, Warn, result.PhasePermission, []string{"allocation works", "refused a permission for our test peer", "403"}, []string{"media.relay"})
	udpNoSecret(t, r)
}

// TestUDPProbesLeakNoGoroutines runs every UDP probe, passing and
// blackholed, and checks that no goroutine outlives the run.
func TestUDPProbesLeakNoGoroutines(t *testing.T) {
	srv := startUDPTestTURN(t, udpTestUser, udpTestPass)
	hole := udpTestBlackhole(t)
	cfg := udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:127.0.0.1:%d", srv.UDP), fmt.Sprintf("turn:127.0.0.1:%d?transport=tcp", srv.TCP), fmt.Sprintf("turn:127.0.0.1:%d", hole))
	cfg.TURN = udpTestConfig(srv.UDP, hole).TURN
	cfg.Timeout = time.Second
	time.Sleep(50 * time.Millisecond)
	checkLeaks := goroutineLeakCheck(t)
	rs := udpRunProbe(t, udpProbes(), cfg)
	if len(rs) != 2+2+3+2+1 {
		t.Errorf("%d results", len(rs))
	}
	udpNoSecret(t, rs...)
	checkLeaks()
}

// TestTURNAllocateSlowPath: 500 ms each way between this computer and the
// TURN server (the relay in front of pion's TURN server holds every
// datagram). The exchange takes about four round trips (4 s); a browser
// sets such a call up within the CCP's 8 s ICE limit. A fixed 3 s budget
// failed it as "no answer … silently drops it" (a firewall remedy); the
// limit now follows the first answer's round trip, and the figure it
// scaled with is what the relay applied. At 1.2 s each way the exchange
// cannot finish within 8 s, and the failure says the path is too slow
// rather than blaming a firewall.
func TestTURNAllocateSlowPath(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1 s round trip takes seconds per exchange")
	}
	srv := startUDPTestTURN(t, udpTestUser, udpTestPass)
	for _, c := range []struct {
		name    string
		oneWay  time.Duration
		status  Status
		reason  []string
		nothing []string // never in the reason
	}{
		{"1s-rtt", 500 * time.Millisecond, Pass, nil, nil},
		{"2.4s-rtt", 1200 * time.Millisecond, Fail, []string{"the TURN server answered (round trip", "too slow"}, []string{"silently drops"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			leg := impair.Direction{Delay: c.oneWay}
			rl := relayTo(t, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.UDP}, impair.Config{Up: leg, Down: leg})
			cfg := udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", rl.Addr().Port))
			start := time.Now()
			r := udpOne(t, turnAllocate, cfg)
			took := time.Since(start)
			up, down := rl.Counts()
			applied := up.AppliedMean + down.AppliedMean
			t.Logf("%s in %v: %s; the relay applied %v up + %v down (max %v, %v)", c.name, took.Round(time.Millisecond), r.Reason, up.AppliedMean, down.AppliedMean, up.AppliedMax, down.AppliedMax)
			if r.Status != c.status {
				t.Fatalf("status %s (%s: %s), want %s", r.Status, r.Phase, r.Reason, c.status)
			}
			for _, s := range c.reason {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q lacks %q", r.Reason, s)
				}
			}
			for _, s := range c.nothing {
				if strings.Contains(r.Reason+r.Remedy, s) {
					t.Errorf("reason %q / remedy %q says %q", r.Reason, r.Remedy, s)
				}
			}
			// The round trip the limit scaled with is the relay's: at
			// least what it applied to the request and its answer (the
			// mean of each direction; loopback adds microseconds), and
			// not more than the slowest of each plus 100 ms of scheduling.
			got := time.Duration(r.Metrics["limit_rtt_ms"] * float64(time.Millisecond))
			if got < applied-5*time.Millisecond || got > up.AppliedMax+down.AppliedMax+100*time.Millisecond {
				t.Errorf("limit_rtt_ms %v; the relay applied %v (max %v)", got, applied, up.AppliedMax+down.AppliedMax)
			}
			udpNoSecret(t, r)
		})
	}
}

// TestTURNAllocateSilentAfterAnswer: the server answers the first request
// (the 401 challenge) within a millisecond, then the path drops everything
// (a firewall that lets the small first request through, say). The limit
// ends on a fast path: that is lost datagrams, and the reason keeps saying
// "no answer … silently drops it", not "too slow".
func TestTURNAllocateSilentAfterAnswer(t *testing.T) {
	srv := startUDPTestTURN(t, udpTestUser, udpTestPass)
	front := firstOnlyRelay(t, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.UDP})
	cfg := udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:%s?transport=udp", front))
	r := udpOne(t, turnAllocate, cfg)
	udpWant(t, r, Fail, result.PhaseAllocate, []string{"no answer from the Allocate request", "silently drops it"}, nil)
	if strings.Contains(r.Reason, "too slow") || r.Metrics["limit_rtt_ms"] <= 0 || r.Metrics["limit_rtt_ms"] > 500 {
		t.Errorf("reason %q, limit_rtt_ms %v", r.Reason, r.Metrics["limit_rtt_ms"])
	}
}

// firstOnlyRelay forwards the first datagram from one client to target and
// the first answer back, and drops everything after; it returns its
// address. It stops with the test.
func firstOnlyRelay(t *testing.T, target *net.UDPAddr) string {
	t.Helper()
	front, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp4", nil, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = front.Close(); _ = back.Close() })
	go func() {
		buf := make([]byte, 2048)
		n, client, err := front.ReadFromUDP(buf)
		if err != nil {
			return
		}
		_, _ = back.Write(buf[:n])
		if n, err = back.Read(buf); err != nil {
			return
		}
		_, _ = front.WriteToUDP(buf[:n], client)
		for { // drop the rest until the test ends
			if _, _, err := front.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	return front.LocalAddr().String()
}

// TestTURNAllocateSlowPathTLS: turns: through a front that accepts TCP
// itself (as a transparent proxy or a VPN client does: the SYN is answered
// in microseconds) and holds every chunk 500 ms each way on its way to and
// from pion's TURN server. TLS, Allocate twice, the permission and the data
// take about five seconds; a browser would connect. The limit follows the
// largest round trip the path showed (the TLS handshake's), not the SYN's.
func TestTURNAllocateSlowPathTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1 s round trip takes seconds per exchange")
	}
	srv := startUDPTestTURN(t, udpTestUser, udpTestPass)
	front := delayingTCPFront(t, fmt.Sprintf("127.0.0.1:%d", srv.TLS), 500*time.Millisecond)
	cfg := udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turns:%s?transport=tcp", front))
	cfg.Roots = srv.Roots
	start := time.Now()
	r := udpOne(t, turnAllocate, cfg)
	t.Logf("in %v: %s %s; limit_rtt_ms %v", time.Since(start).Round(time.Millisecond), r.Status, r.Reason, r.Metrics["limit_rtt_ms"])
	udpWant(t, r, Pass, "", nil, nil)
	// The TLS handshake crossed the front at least once each way.
	if got := r.Metrics["limit_rtt_ms"]; got < 1000 {
		t.Errorf("limit_rtt_ms %v, want ≥ 1000 (the front holds 500 ms each way)", got)
	}
	udpNoSecret(t, r)
}

// delayingTCPFront accepts TCP on loopback and forwards each connection to
// target, holding every chunk for d in each direction (order kept); it
// returns its address and stops with the test.
func delayingTCPFront(t *testing.T, target string, d time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hold := func(dst, src net.Conn) {
		type chunk struct {
			at time.Time
			b  []byte
		}
		ch := make(chan chunk, 1024)
		go func() {
			defer close(ch)
			for {
				buf := make([]byte, 32<<10)
				n, err := src.Read(buf)
				if n > 0 {
					ch <- chunk{time.Now(), buf[:n]}
				}
				if err != nil {
					return
				}
			}
		}()
		for c := range ch {
			time.Sleep(time.Until(c.at.Add(d)))
			if _, err := dst.Write(c.b); err != nil {
				break
			}
		}
		_ = dst.Close()
		_ = src.Close()
	}
	acceptEach(t, ln, func(c net.Conn) {
		s, err := net.Dial("tcp4", target)
		if err != nil {
			_ = c.Close()
			return
		}
		go hold(s, c) // either side's end closes both (hold does)
		hold(c, s)
	})
	return ln.Addr().String()
}
