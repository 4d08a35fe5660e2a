//go:build !linux

package pace

import "time"

// preciseSleep falls back to the Go timer where nanosleep(2) is missing.
func preciseSleep(d time.Duration) { time.Sleep(d) }
