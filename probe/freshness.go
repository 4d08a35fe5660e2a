package probe

import (
	"context"
	"time"
)

// STUB: replaced by the real probe.
var rangesFreshness = Probe{
	ID:      "ranges.freshness",
	Budget:  fixed(time.Second),
	Targets: oneTarget("ranges"),
	Run: func(ctx context.Context, env *Env, t Target) Result {
		return Result{Status: Skip, Reason: "not implemented yet"}
	},
}
