package result

// What a check declares so that renderers can group its results into
// root-cause findings (report.Findings) and a summary block, without
// report/ knowing any check id: who fixes its failures (Who), which checks
// it depends on (Kind.DependsOn), the root causes its results can show
// (Cause) and the summary line it feeds (Summary).

// Who says who can make the change a finding asks for. The values are the
// JSON report's findings[].who.
type Who string

// The people a finding can be for.
const (
	// WhoComputer is the person at this computer (its connection, clock,
	// VPN client, local firewall or settings).
	WhoComputer Who = "computer"
	// WhoNetwork is the network or IT team (firewall, proxy, DNS filter).
	WhoNetwork Who = "network"
	// WhoConnectAdmin is the Amazon Connect administrator (the instance,
	// its alias, TURN credentials).
	WhoConnectAdmin Who = "connect-admin"
	// WhoNone is nobody: the finding is information, nothing needs to change.
	WhoNone Who = "none"
)

// Words is who in plain words for a report ("the network / IT team").
func (w Who) Words() string {
	switch w {
	case WhoComputer:
		return "this computer"
	case WhoNetwork:
		return "the network / IT team"
	case WhoConnectAdmin:
		return "the Amazon Connect admin"
	case WhoNone:
		return "nobody needed"
	}
	return "the network / IT team"
}

// Scope says which runs a Cause applies to, from the other results of the
// same check.
type Scope int

const (
	// ScopeAny: the cause applies to any matching results.
	ScopeAny Scope = iota
	// ScopeAll: only when at least two results of the check ran (were not
	// skipped) and every one of them matches: an outage of the whole
	// layer ("nothing resolves"), not one target's fault.
	ScopeAll
	// ScopeSome: only when at least one other result of the check passed
	// (or warned of something else): the layer works, so the fault lies
	// with the matching targets ("the instance name does not exist while
	// other names resolve").
	ScopeSome
)

// Cause is a root cause a check's results can show: the results of the
// check that match it (and the results that depend on them) become one
// finding with this title, who and remedy, instead of one finding per
// result. A check lists its causes most specific first; a result belongs
// to the first cause it matches, and results matching none are grouped by
// identical remedy.
//
// Title and Remedy may hold placeholders, filled from the matching
// results: {n} the number of targets, {targets} their names (hosts),
// {target} the first one, {address} the first result's address,
// {detail:KEY} the first value of the detail KEY, {region} the run's
// region.
type Cause struct {
	// Status is the status a result must have ("" : fail or warn).
	Status Status
	// Phases are the phases a result may have (nil: any).
	Phases []string
	// Details are "key=value" (or "key": present) pairs a result's Details
	// must all hold.
	Details []string
	// Scope restricts the cause by the check's other results.
	Scope Scope
	// Title is the finding in plain words, for several targets; TitleOne,
	// when set, is used for a single target.
	Title, TitleOne string
	// Who can make the change (empty: the check's Kind.Who).
	Who Who
	// Remedy is the exact change (empty: the results' own remedies).
	Remedy string
	// Rank orders findings of the same severity: higher first (0 is the
	// default of an ungrouped result; a cause that explains other
	// failures, such as "nothing resolves", ranks high).
	Rank int
}

// Summary is what a check adds to a report's summary block, the few lines
// before the detail (like tailscale's netcheck): a line Label with how
// many of the check's targets passed (Reach names them), and/or a line
// MetricLabel with each target's Metric, and/or the first value of the
// detail Detail.
type Summary struct {
	// Label names the line ("UDP 3478").
	Label string
	// Reach names the targets ("TURN servers"): the line says how many
	// passed, "3 of 5 TURN servers answer".
	Reach string
	// Detail is a detail key whose first value is the line ("mapping").
	Detail string
	// Metric is a metric shown per target on a line of its own, labelled
	// MetricLabel ("rtt_ms", "TURN RTT").
	Metric, MetricLabel string
}
