package probe

import (
	"context"
	"fmt"
	"net"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/pion/stun/v4"
)

// turnAuthChallenge sends each TURN server an Allocate without
// credentials. A TURN server answers 401 Unauthorized with REALM and NONCE:
// that proves the TURN service itself (not only STUN) and two-way UDP,
// without needing credentials.
var turnAuthChallenge = Probe{
	Kind:    result.Kind{ID: "turn.auth-challenge", Layer: result.LayerMedia, DependsOn: []string{"stun.binding"}},
	Budget:  udpBudget,
	Targets: turnTargets,
	Run:     runTURNAuthChallenge,
}

// requestedTransportUDP is REQUESTED-TRANSPORT (RFC 8656 §18.7): protocol
// 17 (UDP) then 3 reserved bytes.
var requestedTransportUDP = stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}

func runTURNAuthChallenge(ctx context.Context, env *Env, t Target) Result {
	x, _, r, ok := udpTransaction(ctx, env, t, func(conn *net.UDPConn) (Exchange, error) {
		return Transact(ctx, conn, nil, Schedule{},
			stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestedTransportUDP, stun.Fingerprint)
	})
	if !ok {
		return r
	}
	return judgeAuthChallenge(r, x, t.Endpoint)
}

// judgeAuthChallenge judges the answer x to an unauthenticated Allocate
// sent to e: pass only for 401 Unauthorized with REALM and NONCE (the
// realm, as serverText makes it, is kept as a detail). x.Response must
// not be nil.
func judgeAuthChallenge(r Result, x Exchange, e catalog.Endpoint) Result {
	what := e.Addr()
	code, phrase := x.ErrorCode()
	switch {
	case code == 0:
		// Allocated without credentials: an open relay, not Connect's TURN.
		r.Status, r.Phase = Warn, result.PhaseAuth
		r.Reason = fmt.Sprintf("%s allocated a relay without asking for credentials: an open TURN relay, not the Connect TURN service", what)
		r.Remedy = remedyNotTURN(e)
		return r
	case code != int(stun.CodeUnauthorized):
		r.Status, r.Phase = Fail, result.PhaseAuth
		r.Reason = fmt.Sprintf("%s answered the unauthenticated Allocate with error %d %s instead of 401 Unauthorized: two-way UDP works, but this does not behave like the Connect TURN service", what, code, phrase)
		r.Remedy = remedyNotTURN(e)
		return r
	}
	var realm stun.Realm
	var nonce stun.Nonce
	errR, errN := realm.GetFrom(x.Response), nonce.GetFrom(x.Response)
	if errR != nil || errN != nil {
		r.Status, r.Phase = Fail, result.PhaseAuth
		r.Reason = fmt.Sprintf("%s answered 401 without REALM and NONCE: two-way UDP works, but no standard TURN long-term authentication is offered", what)
		r.Remedy = remedyNotTURN(e)
		return r
	}
	r.Status = Pass
	r.SetDetail("realm", serverText(realm.String()))
	return r
}
