package probe

import (
	"context"
	"iter"
	"sync"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// board holds a run's results as they finish, so that a check can read
// another's (Env.Await): browser.udp compares itself with stun.binding to
// tell a browser policy from a network block. The zero value is an empty
// board with nothing expected.
type board struct {
	mu      sync.Mutex
	want    map[string]int // jobs of each check id in this run
	got     map[string][]Result
	changed chan struct{} // closed and replaced on every post
}

// expect records the check ids of the run's jobs (one per target); Run
// calls it before any job starts.
func (b *board) expect(ids iter.Seq[string]) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.want, b.got, b.changed = map[string]int{}, map[string][]Result{}, make(chan struct{})
	for id := range ids {
		b.want[id]++
	}
}

// post records a finished result.
func (b *board) post(r Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.got == nil {
		return
	}
	b.got[r.ID] = append(b.got[r.ID], r)
	close(b.changed)
	b.changed = make(chan struct{})
}

// Await returns every result of check id in this run once all its targets
// have finished, or what has finished when ctx ends first. It returns nil
// at once when id does not run (skipped, not asked, or no targets: then
// its one skip result is not on the board). A check must only await
// checks that never await it back (browser.* await network checks only).
func (e *Env) Await(ctx context.Context, id string) []result.Result {
	b := &e.board
	for {
		b.mu.Lock()
		want, got, ch := b.want[id], b.got[id], b.changed
		b.mu.Unlock()
		if want == 0 || len(got) >= want {
			return append([]Result(nil), got...)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			b.mu.Lock()
			defer b.mu.Unlock()
			return append([]Result(nil), b.got[id]...)
		}
	}
}
