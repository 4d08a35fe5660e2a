package probe

import (
	"context"
	"time"
)

// STUB: replaced by the real probe.
var turnAuthChallenge = Probe{
	ID:      "turn.auth-challenge",
	Budget:  fixed(time.Second),
	Targets: turnTargets,
	Run: func(ctx context.Context, env *Env, t Target) Result {
		return Result{Status: Skip, Reason: "not implemented yet"}
	},
}
