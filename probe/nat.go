package probe

import (
	"context"
	"time"
)

// STUB: replaced by the real probe.
var natMapping = Probe{
	ID:      "nat.mapping",
	Budget:  fixed(time.Second),
	Targets: oneTarget("nat"),
	Run: func(ctx context.Context, env *Env, t Target) Result {
		return Result{Status: Skip, Reason: "not implemented yet"}
	},
}
