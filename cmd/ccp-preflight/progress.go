package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/schollz/progressbar/v3"
)

// progress is the stderr progress bar of check. It moves with finished
// checks and with time toward when the run should end (expectedRun: the
// media checks measure for --duration after the quick checks are done),
// whichever is further, so it keeps moving through the media phase instead
// of stopping at the share of checks done. finish clears it, so the report
// starts on a clean line. A nil *progress does nothing.
type progress struct {
	mu       sync.Mutex
	bar      *progressbar.ProgressBar
	start    time.Time
	expected time.Duration // when the run should end
	deadline time.Duration // when it must end
	done     int
	total    int
	stop     chan struct{}
	wg       sync.WaitGroup
}

const progressSteps = 1000

// expectedRun is how long a healthy run of cfg takes: the media duration
// plus a second of set-up when a media check runs, else a second (the
// quick checks; the bar then follows them).
func expectedRun(cfg *config.Config) time.Duration {
	for _, id := range []string{"media.quality", "media.relay", "capacity.streams"} {
		if !cfg.Skipped(id) && cfg.Duration > 0 {
			return cfg.Duration + time.Second
		}
	}
	return time.Second
}

func newProgress(w io.Writer, expected, deadline time.Duration) *progress {
	p := &progress{
		bar: progressbar.NewOptions(progressSteps, progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("checking"), progressbar.OptionThrottle(100*time.Millisecond)),
		start: time.Now(), expected: expected, deadline: deadline, stop: make(chan struct{}),
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.update(-1, 0)
			}
		}
	}()
	return p
}

// progressShare is the bar's position (0–0.99) after elapsed, with done of
// total checks finished: the share of checks done, and of the rest the
// share of the expected run elapsed — so in the media phase, when the
// quick checks are done and the media checks measure for --duration, it
// keeps moving with the clock. Past the expected end it creeps on toward
// the deadline; it never shows 100 % before the run ends.
func progressShare(done, total int, elapsed, expected, deadline time.Duration) float64 {
	var checks float64
	if total > 0 {
		checks = float64(done) / float64(total)
	}
	var clock float64
	switch {
	case expected <= 0:
	case elapsed <= expected:
		clock = 0.95 * float64(elapsed) / float64(expected)
	case deadline > expected:
		clock = 0.95 + 0.04*min(1, float64(elapsed-expected)/float64(deadline-expected))
	default:
		clock = 0.99
	}
	return min(checks+(1-checks)*clock, 0.99)
}

// update records done of total checks (done < 0: a clock tick only).
// Safe for concurrent use.
func (p *progress) update(done, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if done >= 0 && total > 0 {
		p.done, p.total = done, total
		p.bar.Describe(fmt.Sprintf("checking (%d/%d)", done, total))
	}
	_ = p.bar.Set(int(progressShare(p.done, p.total, time.Since(p.start), p.expected, p.deadline) * progressSteps))
}

// clear empties the bar's line so that a message can be printed mid-run;
// the next tick draws the bar again.
func (p *progress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Clear()
}

// finish stops the ticker and clears the bar's line, so that what is
// printed next starts at the left margin of an empty line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Exit()
	_ = p.bar.Clear()
}
