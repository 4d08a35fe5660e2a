package report

import (
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// siteNote is the headline's sentence about site checks (result.Kind.Site:
// they measure the site, e.g. how many concurrent calls its uplink
// carries, not this computer's call): "" when none warned or failed. A
// site limit is said as such, never as "calls will fail from this
// computer" (result.Verdict counts a failed site check as a warning).
func siteNote(checks []result.Result) string {
	var parts []string
	for _, c := range checks {
		if c.Status != result.Fail && c.Status != result.Warn {
			continue
		}
		if k, _ := result.KindOf(c.ID); k.Site && c.Reason != "" {
			parts = append(parts, c.Reason)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " Site limit (for the whole site, not this computer's calls): " + strings.Join(parts, "; ") + "."
}

// siteFails counts the failed site checks (shown as warnings in the verdict).
func siteFails(checks []result.Result) int {
	n := 0
	for _, c := range checks {
		if k, _ := result.KindOf(c.ID); k.Site && c.Status == result.Fail {
			n++
		}
	}
	return n
}
