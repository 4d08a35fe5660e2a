package report

import (
	"fmt"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// Outcome is what a run amounts to: the one answer a reader or a script
// acts on. Verdict is the worst status among the checks that finished;
// Outcome also says whether the run gives a verdict at all. The JSON
// report carries it as "outcome" (docs/REPORTS.md).
type Outcome string

// The outcomes. Incomplete and NotChecked are not verdicts: the exit code
// is 3 (Nagios UNKNOWN), whatever the checks that ran found.
const (
	OutcomeReady      Outcome = "ready"               // every network check passed
	OutcomeWarnings   Outcome = "ready_with_warnings" // calls should connect; something needs attention
	OutcomeNotReady   Outcome = "not_ready"           // a check failed
	OutcomeIncomplete Outcome = "incomplete"          // the run was interrupted before its end
	OutcomeNotChecked Outcome = "not_checked"         // no check of the network ran
)

// OutcomeOf is r's outcome: Incomplete when the run was interrupted,
// NotChecked when no network check gave a result (NetworkChecked), else
// the verdict's. A nil r is NotChecked.
func OutcomeOf(r *Report) Outcome {
	switch {
	case r == nil:
		return OutcomeNotChecked
	case r.Interrupted:
		return OutcomeIncomplete
	case !NetworkChecked(r.Checks):
		return OutcomeNotChecked
	case r.Verdict == result.Fail:
		return OutcomeNotReady
	case r.Verdict == result.Warn:
		return OutcomeWarnings
	}
	return OutcomeReady
}

// Verdictless reports whether o is not a verdict (Incomplete, NotChecked).
func (o Outcome) Verdictless() bool { return o == OutcomeIncomplete || o == OutcomeNotChecked }

// NetworkChecked reports whether at least one check of the network gave a
// result (pass, warn or fail): a check whose kind is not result.Kind.Local.
// Skipped checks, and checks that only read this computer's settings or
// files (ranges.freshness, env.proxy, env.vpn), do not count. An id no
// check declared counts as a network check.
func NetworkChecked(checks []result.Result) bool {
	for _, c := range checks {
		if c.Status == result.Skip || c.Status == "" {
			continue
		}
		if k, _ := result.KindOf(c.ID); !k.Local {
			return true
		}
	}
	return false
}

// headlineIncomplete is the headline of an interrupted run.
func headlineIncomplete(r *Report, c map[result.Status]int) string {
	s := fmt.Sprintf("INCOMPLETE: the run was interrupted after %.1fs, before every check finished, so this is no verdict on this network", r.DurationMS/1000)
	if n := c[result.Fail]; n > 0 {
		return s + fmt.Sprintf(" (but %s already failed: calls are likely to fail; run it again to the end).", plural(n, "check", "checks"))
	}
	return s + fmt.Sprintf(" (%d passed, %s so far; run it again to the end).", c[result.Pass], plural(c[result.Warn], "warning", "warnings"))
}

// headlineNotChecked is the headline of a run in which no network check
// ran.
func headlineNotChecked(r *Report) string {
	switch {
	case len(r.Skip) > 0:
		return fmt.Sprintf("NOT CHECKED: no check of the network ran (--skip %s left them out), so nothing is known about this network.", strings.Join(r.Skip, ","))
	case len(r.Checks) == 0:
		return "NOT CHECKED: no check ran, so nothing is known about this network."
	}
	return "NOT CHECKED: every check of the network was skipped (see each one's reason), so nothing is known about this network."
}

// notTested is the headline's note on the checks left out by --skip.
func notTested(r *Report) string {
	if len(r.Skip) == 0 {
		return ""
	}
	return " Not tested (left out by --skip): " + strings.Join(r.Skip, ", ") + "."
}
