// Package pace sleeps until an absolute time more precisely than
// time.Sleep, whose wake-ups on Linux land 0.5–1 ms late (p99 ~1.1 ms
// measured on a loaded 2-core machine) because the Go timer runs through
// the network poller at millisecond granularity. Paced media streams and
// the impairing relay need sub-millisecond wake-ups: 1 ms is already 5% of
// a 20 ms packet interval.
package pace

import "time"

// coarseMargin is how long before the due time SleepUntil stops using the
// Go timer and switches to the precise sleep. It covers the Go timer's p99
// lateness (~1.1 ms measured) with room, while keeping short the time an
// OS thread is blocked in the precise sleep (at 10,000 wake-ups a second
// that is ~30 threads blocked at any moment).
const coarseMargin = 3 * time.Millisecond

// SleepUntil returns at (or just after) due, measured on the monotonic
// clock. It returns at once when due has passed. Safe for concurrent use;
// each caller blocks only itself.
func SleepUntil(due time.Time) {
	d := time.Until(due)
	if d <= 0 {
		return
	}
	if d > coarseMargin {
		time.Sleep(d - coarseMargin)
		d = time.Until(due)
	}
	preciseSleep(d)
}
