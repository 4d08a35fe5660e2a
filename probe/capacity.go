package probe

import (
	"context"
	"time"
)

// STUB: replaced by the real probe.
var capacityStreams = Probe{
	ID:      "capacity.streams",
	Budget:  fixed(time.Second),
	Targets: oneTarget("capacity"),
	Run: func(ctx context.Context, env *Env, t Target) Result {
		return Result{Status: Skip, Reason: "not implemented yet"}
	},
}
