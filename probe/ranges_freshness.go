package probe

import (
	"context"
	"fmt"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/ranges"
)

// freshnessBudget: the check only reads the loaded data's date; a second
// is far more than it needs.
const freshnessBudget = time.Second

// futureSlack tolerates a createDate slightly in the future (time zones,
// a clock a little behind) before calling the clock suspicious.
const futureSlack = 24 * time.Hour

// rangesFreshness checks the age of the ip-ranges.json in use against AWS's
// 30-day notice for new ranges (docs/RANGES.md): older data may
// lack ranges Connect uses now, so firewall rules and the membership check
// built from it can be wrong. Warn from the last week (ranges.WarnMargin)
// on, and past 30 days too: stale data is the tool's problem, not the
// network's, so it must not turn the network's verdict into "not ready";
// `--fail-on warn` makes it fail the run for those who want that.
var rangesFreshness = Probe{
	Kind:    result.Kind{ID: "ranges.freshness", Layer: result.LayerRanges, Who: result.WhoNetwork, Local: true},
	Budget:  fixed(freshnessBudget),
	Targets: oneTarget("ranges"),
	Run: func(ctx context.Context, env *Env, t Target) Result {
		if env.Cfg == nil || env.Cfg.Ranges == nil {
			return Result{Status: Skip, Reason: "no ranges data loaded (a --lab run uses none)"}
		}
		return Freshness(env.Cfg.Ranges, env.now())
	},
}

// Freshness is the ranges.freshness result for set at now.
func Freshness(set *ranges.Set, now time.Time) Result {
	r := Result{ID: "ranges.freshness", Target: "ranges"}
	age := set.Age(now)
	days := int(age / (24 * time.Hour))
	r.SetMetric("age_s", age.Seconds())
	r.SetDetail("source", set.Source)
	r.SetDetail("create_date", set.CreateDate.UTC().Format(time.RFC3339))
	r.SetDetail("sync_token", set.SyncToken)
	if set.Note != "" {
		r.SetDetail("note", set.Note)
	}
	what := describeSource(set)
	const remedy = "run `ccp-preflight ranges update` (fetches " + ranges.DefaultURL +
		"), then regenerate any IP allowlist from it (`ccp-preflight ranges export --region R`); or pass a current file with --ranges FILE|URL"
	switch {
	case age < -futureSlack:
		r.Status, r.Phase = Warn, result.PhaseFreshness
		r.Reason = fmt.Sprintf("the IP ranges in use (%s) are dated %s, %d days in the future: this computer's clock is probably wrong",
			what, set.CreateDate.UTC().Format("2006-01-02"), -days)
		r.Remedy = "set this computer's clock right (sync with NTP); sign-in also breaks with clock skew above 10 s"
	case age > ranges.NoticePeriod:
		r.Status, r.Phase = Warn, result.PhaseFreshness
		r.Reason = fmt.Sprintf("the IP ranges in use (%s, published %s) are %d days old: AWS announces new ranges only 30 days before using them, so addresses Connect uses now may be missing",
			what, set.CreateDate.UTC().Format("2006-01-02"), days)
		r.Remedy = remedy
	case age > ranges.NoticePeriod-ranges.WarnMargin:
		left := int((ranges.NoticePeriod - age) / (24 * time.Hour))
		r.Status, r.Phase = Warn, result.PhaseFreshness
		r.Reason = fmt.Sprintf("the IP ranges in use (%s, published %s) are %d days old and pass AWS's 30-day notice in %d days",
			what, set.CreateDate.UTC().Format("2006-01-02"), days, left)
		r.Remedy = remedy
	default:
		r.Status = Pass
		r.Reason = fmt.Sprintf("the IP ranges in use (%s, published %s) are %d days old, within AWS's 30-day notice",
			what, set.CreateDate.UTC().Format("2006-01-02"), days)
	}
	return r
}

func describeSource(set *ranges.Set) string {
	if set.Source == ranges.SourceEmbedded {
		return "the copy built into this program"
	}
	return set.Source
}
