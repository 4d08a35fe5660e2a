package probe

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
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
