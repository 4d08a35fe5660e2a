package probe

import (
	"context"
	"time"
)

// STUB: replaced by the real probe.
var tcpConnect = Probe{
	ID:      "tcp.connect",
	Budget:  fixed(time.Second),
	Targets: httpsTargets,
	Run: func(ctx context.Context, env *Env, t Target) Result {
		return Result{Status: Skip, Reason: "not implemented yet"}
	},
}
