package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/pion/stun/v4"
)

func TestLargeDatagramPass(t *testing.T) {
	// pion/turn and coturn must both ignore the comprehension-optional
	// padding attribute (no 420) and answer every size up to 1472 bytes.
	srv := startUDPTestTURN(t, "agent", "pw")
	r := udpOne(t, pathLargeDatagram, udpTestConfig(srv.UDP))
	udpWant(t, r, Pass, "", nil, nil)
	if r.Metrics["up_max_bytes"] != 1472 || r.Metrics["small_rtt_ms"] <= 0 || !strings.Contains(r.Details["downstream"], "needs TURN credentials") {
		t.Errorf("metrics %v details %v", r.Metrics, r.Details)
	}
	ct := startCoturn(t, "agent", "pw")
	r = udpOne(t, pathLargeDatagram, udpTestConfig(ct.Port))
	udpWant(t, r, Pass, "", nil, nil)

	// And both answer it with a success, not 420 Unknown Attribute.
	for _, port := range []int{srv.UDP, ct.Port} {
		conn, err := DialUDP(context.Background(), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		x, mapped, err := Binding(ctx, conn, nil, Schedule{}, Padding(1472-stunOverhead))
		cancel()
		_ = conn.Close()
		if code, phrase := x.ErrorCode(); err != nil || !x.OK() || code != 0 || !mapped.IsValid() {
			t.Errorf("port %d: padded Binding: ok %v code %d %s err %v", port, x.OK(), code, phrase, err)
		}
	}
}

// TestLargeDatagramDownstream: with credentials the downstream direction is
// measured through a relay (pion/turn and coturn): every ladder size
// arrives, so down_max_bytes is at least the media server's stand-in need,
// and no credential appears in the result.
func TestLargeDatagramDownstream(t *testing.T) {
	srv := startUDPTestTURN(t, udpTestUser, udpTestPass)
	ct := startCoturn(t, udpTestUser, udpTestPass)
	for name, port := range map[string]int{"pion": srv.UDP, "coturn": ct.Port} {
		t.Run(name, func(t *testing.T) {
			cfg := udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port))
			cfg.TURN = udpTestConfig(port).TURN
			r := udpOne(t, pathLargeDatagram, cfg)
			udpWant(t, r, Pass, "", nil, nil)
			if r.Metrics["down_max_bytes"] < NeedDown || r.Metrics["up_max_bytes"] != 1472 {
				t.Errorf("up %v down %v bytes, want 1472 and ≥ %d (details %v)", r.Metrics["up_max_bytes"], r.Metrics["down_max_bytes"], NeedDown, r.Details)
			}
			udpNoSecret(t, r)
		})
	}
}

func TestLargeDatagramDropped(t *testing.T) {
	// A server that answers small requests and drops anything above 600
	// bytes: no browser handshake passes in either role.
	for _, role := range []string{"", config.DTLSClient, config.DTLSServer} {
		cfg := udpTestConfig(udpTestSTUN(t, 600, 0))
		cfg.Timeout = time.Second
		cfg.DTLSRole = role
		r := udpOne(t, pathLargeDatagram, cfg)
		udpWant(t, r, Fail, result.PhaseLarge,
			[]string{"upstream: UDP datagrams to 127.0.0.1", "pass up to 576 bytes but 716-byte ones get no answer", "in either role", "look for a firewall dropping large UDP or fragments"},
			[]string{"allow UDP datagrams of at least 1272 bytes (1300 on the wire) and IP fragments to 127.0.0.1:", "MTU"})
	}
}

// TestLargeDatagramRoles: a server dropping requests above 1000 bytes
// passes the browser's 716-byte server flight and drops its 1272-byte
// ClientHello: fail when the browser is the DTLS client, pass when it is the
// server, warn (naming both roles) when the role is not known.
func TestLargeDatagramRoles(t *testing.T) {
	port := udpTestSTUN(t, 1000, 0)
	for _, c := range []struct {
		role   string
		status Status
		words  []string
	}{
		{config.DTLSClient, Fail, []string{"ClientHello (1236 bytes, 1272 with TURN framing) is dropped", "the browser is the DTLS client", "stall"}},
		{config.DTLSServer, Pass, nil},
		{"", Warn, []string{"pass up to 900 bytes", "calls stall if Connect's media server makes the browser the DTLS client", "connect if it makes it the DTLS server", "dtls_role"}},
	} {
		cfg := udpTestConfig(port)
		cfg.Timeout = time.Second
		cfg.DTLSRole = c.role
		r := udpOne(t, pathLargeDatagram, cfg)
		phase := result.PhaseLarge
		if c.status == Pass {
			phase = ""
			if !strings.Contains(r.Details["upstream"], "calls connect") {
				t.Errorf("role server: details %v should say the ClientHello is dropped and calls connect", r.Details)
			}
		}
		udpWant(t, r, c.status, phase, c.words, nil)
	}
}

// TestGradeSizes covers each direction and role without a network.
func TestGradeSizes(t *testing.T) {
	ok := func(up, down int, why string) datagramSizes {
		return datagramSizes{Small: true, SmallRTT: time.Millisecond, Up: up, Down: down, DownWhy: why}
	}
	for _, c := range []struct {
		name   string
		v      datagramSizes
		role   string
		status Status
		words  []string
	}{
		{"all pass", ok(1472, 1472, ""), "", Pass, nil},
		{"down not measured", ok(1472, 0, "needs TURN credentials"), config.DTLSClient, Pass, nil},
		{"down 1100 warns", ok(1472, 1100, ""), config.DTLSServer, Warn, []string{"downstream: datagrams from h:3478 arrive only up to 1100 bytes", "AWS does not publish"}},
		{"down 576 fails", ok(1472, 576, ""), "", Fail, []string{"downstream", "in either role"}},
		{"up 1200 client", ok(1200, 1472, ""), config.DTLSClient, Fail, []string{"upstream", "1236-byte ones get no answer", "DTLS client"}},
		{"up 1200 server", ok(1200, 1472, ""), config.DTLSServer, Pass, nil},
		{"up 1200 unknown", ok(1200, 1472, ""), "", Warn, []string{"not document"}},
		{"up 900 down 900 client", ok(900, 900, ""), config.DTLSClient, Fail, []string{"upstream", "downstream"}},
		{"no small", datagramSizes{}, "", Skip, []string{"even small"}},
	} {
		r := gradeSizes(Result{}, c.v, c.role, "h:3478")
		if r.Status != c.status {
			t.Errorf("%s: %s %q, want %s", c.name, r.Status, r.Reason, c.status)
		}
		if (r.Status == Warn || r.Status == Fail) && (r.Phase != result.PhaseLarge || r.Remedy == "") {
			t.Errorf("%s: phase %q remedy %q", c.name, r.Phase, r.Remedy)
		}
		for _, w := range c.words {
			if !strings.Contains(r.Reason, w) {
				t.Errorf("%s: reason %q lacks %q", c.name, r.Reason, w)
			}
		}
	}
}

func TestLargeDatagramSmallFailsToo(t *testing.T) {
	cfg := udpTestConfig(udpTestBlackhole(t))
	cfg.Timeout = 500 * time.Millisecond
	r := udpOne(t, pathLargeDatagram, cfg)
	udpWant(t, r, Skip, result.PhaseSmall, []string{"even small UDP datagrams", "stun.binding"}, nil)
}

// TestPaddedRequestSize pins the size on the wire.
func TestPaddedRequestSize(t *testing.T) {
	for _, n := range sizeLadder {
		m, err := stun.Build(stun.TransactionID, stun.BindingRequest, Padding(n-stunOverhead), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Raw) != n {
			t.Errorf("padded request is %d bytes, want %d", len(m.Raw), n)
		}
	}
}

// udpTestErrorAbove answers Binding requests larger than limit bytes
// (every one with limit 0) with error 500 Server Error, and smaller ones
// with a normal success.
func udpTestErrorAbove(t *testing.T, limit int) int {
	ok := udpTestSTUNHandler(0, 0)
	return udpTestServe(t, func(pc net.PacketConn, b []byte, from net.Addr) {
		if limit > 0 && len(b) <= limit {
			ok(pc, b, from)
			return
		}
		req := &stun.Message{Raw: b}
		if req.Decode() != nil {
			return
		}
		res, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingError,
			stun.ErrorCodeAttribute{Code: stun.CodeServerError, Reason: []byte("Server Error")}, stun.Fingerprint)
		if err == nil {
			_, _ = pc.WriteTo(res.Raw, from)
		}
	})
}

// TestLargeDatagramErrorAnswerIsNotAPass (issue #15 item 10): a Binding
// answered with error 500 proves nothing about the path for large
// datagrams. Before the fix "any answer, even an error" passed.
func TestLargeDatagramErrorAnswerIsNotAPass(t *testing.T) {
	r := udpOne(t, pathLargeDatagram, udpTestConfig(udpTestErrorAbove(t, 600)))
	udpWant(t, r, Fail, result.PhaseLarge, []string{"716-byte ones got error 500 Server Error instead of a success", "in either role"}, []string{"at least 1272 bytes"})
	// Every Binding answered with 500: stun.binding fails the server; the
	// size test cannot judge.
	r = udpOne(t, pathLargeDatagram, udpTestConfig(udpTestErrorAbove(t, 0)))
	udpWant(t, r, Skip, result.PhaseSmall, []string{"answered with error 500", "stun.binding"}, nil)
}
