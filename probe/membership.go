package probe

import (
	"context"
	"time"
)

// STUB: replaced by the real probe.
var rangesMembership = Probe{
	ID:      "ranges.membership",
	Budget:  fixed(time.Second),
	Targets: httpsTargets,
	Run: func(ctx context.Context, env *Env, t Target) Result {
		return Result{Status: Skip, Reason: "not implemented yet"}
	},
}
