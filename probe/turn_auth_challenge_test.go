package probe

import (
	"net"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/pion/stun/v4"
)

// udpTestAllocateAnswer answers every Allocate with an error response of
// code (with REALM and NONCE when withRealm): a STUN server that is not
// the TURN service, or a broken TURN server.
func udpTestAllocateAnswer(t *testing.T, code stun.ErrorCode, withRealm bool) int {
	return udpTestServe(t, func(pc net.PacketConn, b []byte, from net.Addr) {
		req := &stun.Message{Raw: b}
		if req.Decode() != nil || req.Type.Method != stun.MethodAllocate {
			return
		}
		setters := []stun.Setter{stun.NewTransactionIDSetter(req.TransactionID),
			stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse), code}
		if withRealm {
			setters = append(setters, stun.NewRealm("r"), stun.NewNonce("n"))
		}
		res := stun.MustBuild(append(setters, stun.Fingerprint)...)
		_, _ = pc.WriteTo(res.Raw, from)
	})
}

func TestTURNAuthChallengePass(t *testing.T) {
	srv := startUDPTestTURN(t, "agent", "pw")
	r := udpOne(t, turnAuthChallenge, udpTestConfig(srv.UDP))
	udpWant(t, r, Pass, "", nil, nil)
	if r.Details["realm"] != udpTestRealm {
		t.Errorf("realm %q", r.Details["realm"])
	}
	ct := startCoturn(t, "agent", "pw")
	r = udpOne(t, turnAuthChallenge, udpTestConfig(ct.Port))
	udpWant(t, r, Pass, "", nil, nil)
	if r.Details["realm"] != udpTestRealm {
		t.Errorf("coturn realm %q", r.Details["realm"])
	}
}

func TestTURNAuthChallengeFailures(t *testing.T) {
	cases := []struct {
		name        string
		port        int
		phase       string
		reason, rem []string
	}{
		{"blackhole", udpTestBlackhole(t), result.PhaseResponse, []string{"no answer"}, []string{"allow outbound UDP"}},
		{"garbage", udpTestGarbage(t), result.PhaseResponse, []string{"not with STUN"}, []string{"ranges.membership"}},
		{"stun-only", udpTestSTUN(t, 0, 0), result.PhaseResponse, []string{"no answer"}, []string{"allow outbound UDP"}},
		{"400", udpTestAllocateAnswer(t, stun.CodeBadRequest, false), result.PhaseAuth, []string{"error 400", "instead of 401"}, []string{"ranges.membership"}},
		{"401-no-realm", udpTestAllocateAnswer(t, stun.CodeUnauthorized, false), result.PhaseAuth, []string{"401 without REALM and NONCE"}, []string{"ranges.membership"}},
		{"refused", udpTestClosedPort(t), result.PhaseResponse, []string{"refused"}, []string{"allow outbound UDP"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := udpTestConfig(c.port)
			cfg.Timeout = 700 * time.Millisecond // the budget shrinks with --timeout
			r := udpOne(t, turnAuthChallenge, cfg)
			udpWant(t, r, Fail, c.phase, c.reason, c.rem)
		})
	}
}
