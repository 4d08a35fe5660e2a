package probe

import (
	"runtime"
	"testing"
	"time"
)

// leakWait is how long a leak check lets goroutines wind down: pion closes
// its agents, allocations and timers asynchronously, a few ms when healthy.
const leakWait = 5 * time.Second

// goroutineLeakCheck counts the goroutines running now and returns the
// check to call once the work under test is done and its servers are
// closed: the check fails t, printing every goroutine's stack, when more
// goroutines than counted are still running after leakWait.
func goroutineLeakCheck(t testing.TB) (check func()) {
	t.Helper()
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(leakWait)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutine leak: %d running, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
