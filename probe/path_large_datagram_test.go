package probe

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/pion/stun/v4"
)

func TestLargeDatagramPass(t *testing.T) {
	// pion/turn and coturn must both ignore the comprehension-optional
	// padding attribute (no 420) and answer the 1200-byte request.
	srv := startUDPTestTURN(t, "agent", "pw")
	r := udpOne(t, pathLargeDatagram, udpTestConfig(srv.UDP))
	udpWant(t, r, Pass, "", nil, nil)
	if r.Metrics["rtt_ms"] <= 0 || r.Details["large_bytes"] != "1200" {
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
		x, mapped, err := Binding(ctx, conn, nil, Schedule{}, Padding(LargeDatagramBytes-stunOverhead))
		cancel()
		_ = conn.Close()
		if code, phrase := x.ErrorCode(); err != nil || !x.OK() || code != 0 || !mapped.IsValid() {
			t.Errorf("port %d: padded Binding: ok %v code %d %s err %v", port, x.OK(), code, phrase, err)
		}
	}
}

func TestLargeDatagramDropped(t *testing.T) {
	// A server that answers small requests and drops anything above 600
	// bytes: the "DTLS handshakes will fail" path.
	cfg := udpTestConfig(udpTestSTUN(t, 600, 0))
	cfg.Timeout = time.Second
	r := udpOne(t, pathLargeDatagram, cfg)
	udpWant(t, r, Fail, result.PhaseLarge,
		[]string{"small UDP datagrams to 127.0.0.1", "1200-byte ones get no answer", "DTLS handshakes will fail: look for a firewall dropping large UDP or fragments"},
		[]string{"allow UDP datagrams of at least 1200 bytes and IP fragments to 127.0.0.1:", "MTU"})
}

func TestLargeDatagramSmallFailsToo(t *testing.T) {
	cfg := udpTestConfig(udpTestBlackhole(t))
	cfg.Timeout = 500 * time.Millisecond
	r := udpOne(t, pathLargeDatagram, cfg)
	udpWant(t, r, Skip, result.PhaseSmall, []string{"even small UDP datagrams", "stun.binding"}, nil)
}

// TestPaddedRequestSize pins the size on the wire.
func TestPaddedRequestSize(t *testing.T) {
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, Padding(LargeDatagramBytes-stunOverhead), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Raw) != LargeDatagramBytes {
		t.Errorf("padded request is %d bytes, want %d", len(m.Raw), LargeDatagramBytes)
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
	udpWant(t, r, Fail, result.PhaseLarge, []string{"1200-byte one got error 500 Server Error", "DTLS handshakes may fail"}, []string{"at least 1200 bytes"})
	// Every Binding answered with 500: stun.binding fails the server; the
	// size test cannot judge.
	r = udpOne(t, pathLargeDatagram, udpTestConfig(udpTestErrorAbove(t, 0)))
	udpWant(t, r, Skip, result.PhaseSmall, []string{"answered with error 500", "stun.binding"}, nil)
}
