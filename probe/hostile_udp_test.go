package probe

import (
	"net"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/pion/stun/v4"
)

// TestErrorResponseWithCodeZero: a server that answers Binding and
// Allocate with an error response carrying ERROR-CODE 0 (found by
// FuzzSTUNResponse) must not read as a success: before the fix
// stun.binding passed it (the error class was read as "no error") and
// turn.auth-challenge called it an open relay.
func TestErrorResponseWithCodeZero(t *testing.T) {
	port := udpTestServe(t, func(pc net.PacketConn, b []byte, from net.Addr) {
		req := &stun.Message{Raw: b}
		if req.Decode() != nil {
			return
		}
		ua := from.(*net.UDPAddr)
		res, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.NewType(req.Type.Method, stun.ClassErrorResponse),
			stun.ErrorCodeAttribute{Code: 0, Reason: []byte("zero")}, &stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
		if err == nil {
			_, _ = pc.WriteTo(res.Raw, from)
		}
	})
	cfg := udpTestConfig(port)
	r := udpOne(t, stunBinding, cfg)
	udpWant(t, r, Fail, result.PhaseResponse, []string{"error -1 error response with ERROR-CODE 0"}, nil)
	r = udpOne(t, turnAuthChallenge, cfg)
	udpWant(t, r, Fail, result.PhaseAuth, []string{"instead of 401 Unauthorized"}, nil)
}
