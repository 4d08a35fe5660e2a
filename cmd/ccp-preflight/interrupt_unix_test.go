//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCheckInterruptedIsIncomplete presses Ctrl-C (a real SIGINT to this
// process, caught by check's own signal.NotifyContext) during a lab run
// whose media checks measure for 20 s. Before the fix it printed READY
// and exited 0: Go 1.26's NotifyContext cancels with the signal as the
// cause, so the run's `context.Cause(ctx) == context.Canceled` never
// matched. Now: INCOMPLETE in the headline and the JSON, exit 3, and the
// checks cut short are not passes.
func TestCheckInterruptedIsIncomplete(t *testing.T) {
	for _, format := range []string{"json", "nagios"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := interruptedRun(t, "check", "--lab", "--duration", "20s", "--format", format, "--no-progress")
			t.Logf("exit %d; stderr %q", code, errOut)
			switch format {
			case "json":
				var rep noVerdict
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if code != exitIncomplete || !rep.Interrupted || rep.Outcome != "incomplete" || !strings.HasPrefix(rep.Headline, "INCOMPLETE: the run was interrupted") {
					t.Errorf("exit %d, interrupted %v, outcome %q, headline %q; want exit 3, INCOMPLETE", code, rep.Interrupted, rep.Outcome, rep.Headline)
				}
				for _, c := range rep.Checks {
					if strings.HasPrefix(c.ID, "media.quality") && c.Status != "skip" {
						t.Errorf("media.quality cut after a few seconds of 20 is %s: %s", c.Status, c.Reason)
					}
				}
			case "nagios":
				if code != 3 || !strings.HasPrefix(out, "CCP-PREFLIGHT UNKNOWN - INCOMPLETE") {
					t.Errorf("nagios exit %d, %q; want UNKNOWN (3) INCOMPLETE", code, strings.SplitN(out, "\n", 2)[0])
				}
			}
		})
	}
}

// interruptedRun runs the CLI in this process and sends it SIGINT after
// 2 s, again every half second until it returns (the first may come before
// check has set up its handler; this test's own handler keeps the process
// alive meanwhile).
func interruptedRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	keep := make(chan os.Signal, 16)
	signal.Notify(keep, os.Interrupt)
	defer signal.Stop(keep)
	done := make(chan struct{})
	var o, e bytes.Buffer
	start := time.Now()
	go func() {
		defer close(done)
		code = run(args, &o, &e)
	}()
	timer := time.NewTimer(2 * time.Second)
	defer timer.Stop()
	for {
		select {
		case <-done:
			if time.Since(start) > 15*time.Second {
				t.Errorf("the interrupted run took %v to end (media alone runs 20 s)", time.Since(start))
			}
			return code, o.String(), e.String()
		case <-timer.C:
			_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
			timer.Reset(500 * time.Millisecond)
		}
	}
}
