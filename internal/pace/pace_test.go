package pace

import (
	"sort"
	"testing"
	"time"
)

// TestSleepUntilLateness measures how late SleepUntil wakes; the tolerance
// is loose (a shared CI machine), the figure is logged.
func TestSleepUntilLateness(t *testing.T) {
	var late []time.Duration
	start := time.Now()
	for i := 1; i <= 100; i++ {
		due := start.Add(time.Duration(i) * 5 * time.Millisecond)
		SleepUntil(due)
		late = append(late, time.Since(due))
	}
	sort.Slice(late, func(a, b int) bool { return late[a] < late[b] })
	p50, p99 := late[50], late[98]
	t.Logf("lateness p50 %v p99 %v max %v", p50, p99, late[99])
	if late[0] < 0 {
		t.Fatalf("woke %v early", -late[0])
	}
	if p50 > 2*time.Millisecond {
		t.Fatalf("median lateness %v, want ≤ 2ms", p50)
	}
}
