package report

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// Finding is one root cause: the results that show it, grouped so that a
// reader gets one thing to change instead of one line per check and
// target. It is the JSON report's findings[] (schema v1, added 2026-12).
type Finding struct {
	// Severity is the worst status among the results behind the finding
	// (fail or warn).
	Severity result.Status `json:"severity"`
	// Title says in plain words what is wrong.
	Title string `json:"title"`
	// Who can make the change: computer, network, connect-admin or none.
	Who result.Who `json:"who"`
	// Remedy is the exact change to make.
	Remedy string `json:"remedy"`
	// Checks are the check ids behind the finding: the root cause's first,
	// then those of the checks that failed or could not run because of it.
	Checks []string `json:"checks"`
	// Targets are the hosts (or targets) the root cause was seen on.
	Targets []string `json:"targets,omitempty"`
	// Phase is the phase the root cause's results broke in, when they share one.
	Phase string `json:"phase,omitempty"`
	// Results is how many results show the root cause; Dependent how many
	// more failed or could not run only because of it.
	Results   int `json:"results"`
	Dependent int `json:"dependent,omitempty"`
	// Rank orders findings of one severity (result.Cause.Rank).
	Rank int `json:"-"`
	// first is the index of the first result behind it (report order).
	first int
}

// Findings returns the report's findings: r.Findings when set (a report
// from preflight.Run or a JSON file), else FindingsOf(r.Checks, r.Region).
func (r *Report) findings() []Finding {
	if r.Findings != nil {
		return r.Findings
	}
	return FindingsOf(r.Checks, r.Region)
}

// FindingsOf groups results into root-cause findings, most important
// first. The rules are data declared with each check (result.Kind), so
// this holds no check id:
//
//  1. Cascades collapse: a result whose check depends on another
//     (Kind.DependsOn) that did not pass for the same host — or, for a
//     target that is no host of that check's, for every host — is a
//     consequence: it is counted under the finding of the result it
//     depends on (its Checks and Dependent), not as a finding of its own.
//     Skipped results attach to a dependency that failed or warned; failed
//     and warned ones only to one that failed (a warning let them run), and
//     not when they broke at a proxy or on their own config (a phase the
//     dependency cannot explain). A result with no target (a check with
//     nothing to check) never attaches.
//  2. Root causes: the remaining failed and warned results of a check are
//     matched against its declared causes (Kind.Causes, most specific
//     first), each matching set becoming one finding. A cause several
//     checks declare (the same title, remedy, who, rank and scope: a proxy
//     refusing every tunnel, seen by the TCP check and the WebSocket one)
//     is one finding over the results of all of them, its Scope judged
//     over all their results.
//  3. Identical remedies merge: results matching no cause are grouped by
//     check, status, phase and remedy (with the target's host taken out),
//     so nine names blocked the same way are one finding with nine targets.
//
// Order: failures before warnings, then by Cause.Rank, then findings that
// need someone before those that need nobody, then by how many results they
// explain, then report order. Skipped results that depend on nothing that
// failed (no credentials given, not asked) are not findings.
func FindingsOf(checks []result.Result, region string) []Finding {
	n := len(checks)
	parent, hosts, kinds, byID := attach(checks)
	root := func(i int) int {
		for k := 0; parent[i] >= 0 && k < n; k++ {
			i = parent[i]
		}
		return i
	}

	// Roots: failed or warned results that depend on nothing that failed.
	claimed := make([]int, n) // finding index + 1 (0: none)
	var fs []Finding
	newFinding := func(members []int, title, titleOne, remedy string, who result.Who, rank int) {
		f := Finding{Rank: rank, Who: who, first: members[0]}
		phases := map[string]bool{}
		for _, m := range members {
			c := checks[m]
			f.Severity = f.Severity.Worse(c.Status)
			phases[c.Phase] = true
			if t := targetName(c, hosts[m]); t != "" && !slices.Contains(f.Targets, t) {
				f.Targets = append(f.Targets, t)
			}
			if !slices.Contains(f.Checks, c.ID) {
				f.Checks = append(f.Checks, c.ID)
			}
			claimed[m] = len(fs) + 1
		}
		f.Results = len(members)
		if len(phases) == 1 {
			f.Phase = checks[members[0]].Phase
		}
		if f.Who == "" {
			f.Who = kinds[members[0]].WhoFixes()
		}
		if len(f.Targets) == 1 && titleOne != "" {
			title = titleOne
		}
		fill := placeholders(checks, members, f.Targets, region)
		f.Title, f.Remedy = capitalize(oneLine(unfilled.ReplaceAllString(fill.Replace(title), "?"))), oneLine(unfilled.ReplaceAllString(fill.Replace(remedy), "?"))
		fs = append(fs, f)
	}
	isRoot := func(i int) bool {
		s := checks[i].Status
		return parent[i] < 0 && (s == result.Fail || s == result.Warn)
	}
	var ids []string
	for _, c := range checks {
		if !slices.Contains(ids, c.ID) {
			ids = append(ids, c.ID)
		}
	}
	done := map[string]bool{} // causes evaluated (causeKey)
	for _, id := range ids {
		all := byID[id]
		k, _ := result.KindOf(id)
		for _, cause := range k.Causes {
			key := causeKey(cause)
			if done[key] {
				continue // shared with a check before this one
			}
			done[key] = true
			var members []int
			ran, others := 0, 0
			for _, u := range sharers(ids, key) {
				for _, i := range byID[u.id] {
					switch checks[i].Status {
					case result.Pass:
						others++
						ran++
					case result.Fail, result.Warn:
						ran++
						if isRoot(i) && claimed[i] == 0 && matches(checks[i], u.cause) && !earlierCause(checks[i], u.before, done) {
							members = append(members, i)
						} else if checks[i].Status == result.Warn && !matches(checks[i], u.cause) {
							others++ // it worked, with a warning of another kind
						}
					}
				}
			}
			if len(members) == 0 {
				continue
			}
			switch cause.Scope {
			case result.ScopeAll:
				if ran < 2 || len(members) != ran {
					continue
				}
			case result.ScopeSome:
				if others == 0 {
					continue
				}
			}
			newFinding(members, cause.Title, cause.TitleOne, cause.Remedy, cause.Who, cause.Rank)
		}
		// The rest: one finding per check, status, phase and remedy.
		groups := map[string][]int{}
		var order []string
		for _, i := range all {
			if !isRoot(i) || claimed[i] != 0 {
				continue
			}
			c := checks[i]
			key := string(c.Status) + "\x00" + c.Phase + "\x00" + generic(c.Remedy, c, hosts[i])
			if c.Remedy == "" {
				key += "\x00" + generic(c.Reason, c, hosts[i])
			}
			if _, ok := groups[key]; !ok {
				order = append(order, key)
			}
			groups[key] = append(groups[key], i)
		}
		for _, key := range order {
			members := groups[key]
			c := checks[members[0]]
			title := firstSentence(c.Reason)
			if title == "" {
				title = c.ID + " " + string(c.Status)
			}
			remedy := c.Remedy
			if len(members) > 1 {
				title = fmt.Sprintf("%s (and the same for %d more)", title, len(members)-1)
				h := targetName(c, hosts[members[0]])
				switch strings.Count(remedy, h) {
				case 0:
				case 1:
					remedy = strings.Replace(remedy, h, "{targets}", 1)
				default:
					remedy += "; the same for " + strings.Join(otherTargets(checks, hosts, members), ", ")
				}
			}
			newFinding(members, title, "", remedy, "", 0)
		}
	}

	// Consequences: count each attached result under its root's finding.
	for i := range checks {
		if parent[i] < 0 {
			continue
		}
		fi := claimed[root(i)]
		if fi == 0 {
			continue
		}
		f := &fs[fi-1]
		f.Dependent++
		if !slices.Contains(f.Checks, checks[i].ID) {
			f.Checks = append(f.Checks, checks[i].ID)
		}
		if s := checks[i].Status; s == result.Fail {
			f.Severity = f.Severity.Worse(s)
		}
	}
	sort.SliceStable(fs, func(a, b int) bool {
		x, y := fs[a], fs[b]
		if x.Severity != y.Severity {
			return x.Severity.Severity() > y.Severity.Severity()
		}
		if x.Rank != y.Rank {
			return x.Rank > y.Rank
		}
		if (x.Who == result.WhoNone) != (y.Who == result.WhoNone) {
			return y.Who == result.WhoNone
		}
		if x.Results+x.Dependent != y.Results+y.Dependent {
			return x.Results+x.Dependent > y.Results+y.Dependent
		}
		return x.first < y.first
	})
	if fs == nil {
		fs = []Finding{}
	}
	return fs
}

// sharer is a check that declares a cause: its own copy (Status, Phases
// and Details are its own) and the causes it lists before it.
type sharer struct {
	id     string
	cause  result.Cause
	before []result.Cause
}

// sharers returns the checks among ids (report order) that declare the
// cause whose causeKey is key (FindingsOf's rule 2: a cause several checks
// declare, such as a proxy refusing every tunnel, is one finding over all
// their results).
func sharers(ids []string, key string) []sharer {
	var out []sharer
	for _, id := range ids {
		k, _ := result.KindOf(id)
		for ci, c := range k.Causes {
			if causeKey(c) == key {
				out = append(out, sharer{id: id, cause: c, before: k.Causes[:ci]})
				break
			}
		}
	}
	return out
}

// causeKey identifies a cause across checks: two checks declaring the same
// title, remedy, who, rank and scope declare one root cause.
func causeKey(c result.Cause) string {
	return strings.Join([]string{c.Title, c.TitleOne, c.Remedy, string(c.Who), strconv.Itoa(c.Rank), strconv.Itoa(int(c.Scope))}, "\x00")
}

// earlierCause reports whether c matches one of before (causes its check
// lists first) not yet evaluated: a result belongs to its check's first
// matching cause, so a cause shared with an earlier check leaves it alone.
func earlierCause(c result.Result, before []result.Cause, done map[string]bool) bool {
	for _, b := range before {
		if !done[causeKey(b)] && matches(c, b) {
			return true
		}
	}
	return false
}

// DependsOn maps the index of each result that is a consequence of
// another (FindingsOf's rule 1) to the id of the check it depends on.
func DependsOn(checks []result.Result) map[int]string {
	parent, _, _, _ := attach(checks)
	m := map[int]string{}
	for i, p := range parent {
		if p >= 0 {
			m[i] = checks[p].ID
		}
	}
	return m
}

// attach finds each result's dependency (FindingsOf's rule 1): parent[i]
// is the index of the result i is a consequence of, -1 for none.
func attach(checks []result.Result) (parent []int, hosts []string, kinds []result.Kind, byID map[string][]int) {
	n := len(checks)
	hosts = make([]string, n)
	kinds = make([]result.Kind, n)
	byID = map[string][]int{}
	parent = make([]int, n)
	for i, c := range checks {
		hosts[i] = hostOf(c.Target)
		kinds[i], _ = result.KindOf(c.ID)
		byID[c.ID] = append(byID[c.ID], i)
		parent[i] = -1
	}
	// Attach in passes until nothing changes: report order is mostly
	// dependency order, so this ends in one or two passes.
	for pass := 0; pass < 8; pass++ {
		changed := false
		for i, c := range checks {
			// A result without a target is a check that had nothing to
			// check (no credentials, not asked): never a consequence.
			if parent[i] >= 0 || c.Status == result.Pass || c.Target == "" || len(kinds[i].DependsOn) == 0 {
				continue
			}
			if c.Status != result.Skip && (c.Phase == result.PhaseProxy || c.Phase == result.PhaseConfig) {
				continue
			}
			if p := dependency(checks, hosts, byID, kinds[i].DependsOn, hosts[i], i, parent); p >= 0 {
				parent[i] = p
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	return parent, hosts, kinds, byID
}

// dependency returns the result (index) that result self, on host, depends
// on: a result of one of the checks in deps that did not pass, for the same
// host; or, when host is no host of such a check's, the first non-passing
// result of a check in deps none of whose results passed. -1: none.
func dependency(checks []result.Result, hosts []string, byID map[string][]int, deps []string, host string, self int, parent []int) int {
	for _, d := range deps {
		idx := byID[d]
		same, anyPass, firstBad := -1, false, -1
		for _, j := range idx {
			if j == self {
				continue
			}
			// A skipped result follows any dependency that did not pass; a
			// failed one only a dependency that failed (a warning, such as
			// a name resolving to a private address, let the check run).
			bad := checks[j].Status == result.Fail || (checks[j].Status == result.Skip && parent[j] >= 0) ||
				(checks[j].Status == result.Warn && checks[self].Status == result.Skip)
			if checks[j].Status == result.Pass {
				anyPass = true
			}
			if host != "" && hosts[j] == host {
				if bad {
					same = j
				} else {
					same = -2 // the same host, and it did not fail there
				}
				break
			}
			if bad && firstBad < 0 {
				firstBad = j
			}
		}
		switch {
		case same >= 0:
			return same
		case same == -2:
			continue
		case !anyPass && firstBad >= 0:
			return firstBad
		}
	}
	return -1
}

// matches reports whether c shows cause (status, phase, details).
func matches(c result.Result, cause result.Cause) bool {
	if cause.Status != "" && c.Status != cause.Status {
		return false
	}
	if len(cause.Phases) > 0 && !slices.Contains(cause.Phases, c.Phase) {
		return false
	}
	for _, d := range cause.Details {
		k, v, withValue := strings.Cut(d, "=")
		got, ok := c.Details[k]
		if !ok || (withValue && got != v) {
			return false
		}
	}
	return true
}

// unfilled matches a {detail:KEY} no result had.
var unfilled = regexp.MustCompile(`\{detail:[^}]*\}`)

// placeholders fills a cause's title and remedy (result.Cause).
func placeholders(checks []result.Result, members []int, targets []string, region string) *strings.Replacer {
	first := checks[members[0]]
	pairs := []string{
		"{n}", strconv.Itoa(len(targets)),
		"{targets}", joinAnd(targets),
		"{target}", firstOr(targets, first.Target),
		"{address}", first.Address,
		"{region}", region,
		"{remedy}", first.Remedy,
	}
	seen := map[string]bool{}
	for _, m := range members {
		for k, v := range checks[m].Details {
			if !seen[k] {
				seen[k] = true
				pairs = append(pairs, "{detail:"+k+"}", v)
			}
		}
	}
	return strings.NewReplacer(pairs...)
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// joinAnd is "a", "a and b", "a, b and c".
func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// hostOf is the host of a target as checks name them: "host:port",
// "[v6]:port", "turn:host:port?transport=udp", a URL, or a bare name.
// Lower case; "" for a target that names no host ("clock", "ranges").
func hostOf(target string) string {
	t := strings.TrimSpace(target)
	if i := strings.Index(t, "://"); i >= 0 {
		t = t[i+3:]
	} else if s, rest, ok := strings.Cut(t, ":"); ok && (s == "turn" || s == "turns" || s == "stun" || s == "stuns") {
		t = rest
	}
	if i := strings.IndexAny(t, "/?#"); i >= 0 {
		t = t[:i]
	}
	if h, _, err := net.SplitHostPort(t); err == nil {
		t = h
	}
	t = strings.Trim(strings.ToLower(t), "[]")
	if strings.ContainsAny(t, " ,") || !strings.ContainsAny(t, ".:") {
		return ""
	}
	return t
}

// targetName is what a finding lists for c: the detail "domain" when the
// result has one (the name an allow rule must use, a wildcard for a host
// that changes per session), else its host as the target spells it, else
// its target.
func targetName(c result.Result, host string) string {
	if d := c.Details["domain"]; d != "" {
		return d
	}
	if host == "" {
		return c.Target
	}
	// Search byte by byte: lower-casing may change the length of text
	// that is not UTF-8 (a server chose it), so an index into the
	// lower-cased copy need not fit the original.
	for i := 0; i+len(host) <= len(c.Target); i++ {
		if strings.EqualFold(c.Target[i:i+len(host)], host) {
			return c.Target[i : i+len(host)]
		}
	}
	return host
}

// generic is s with c's target and host taken out, so that remedies that
// differ only in the name they are about compare equal.
func generic(s string, c result.Result, host string) string {
	if c.Target != "" {
		s = strings.ReplaceAll(s, c.Target, "{target}")
	}
	if host != "" {
		s = strings.ReplaceAll(s, host, "{host}")
	}
	if c.Address != "" {
		s = strings.ReplaceAll(s, c.Address, "{address}")
	}
	return s
}

// firstSentence is s up to its first ": " clause or sentence end when s is
// long; short texts are kept whole.
func firstSentence(s string) string {
	s = oneLine(s)
	if len(s) <= 140 {
		return s
	}
	for _, sep := range []string{": ", ". ", "; "} {
		if i := strings.Index(s, sep); i > 40 && i < 140 {
			return s[:i]
		}
	}
	return s[:137] + "…"
}

// otherTargets names the targets of members but the first.
func otherTargets(checks []result.Result, hosts []string, members []int) []string {
	var out []string
	for _, m := range members[1:] {
		if t := targetName(checks[m], hosts[m]); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// capitalize upper-cases the first letter of a title, unless it starts
// with a name (a host: "d1.cloudfront.net resolves…").
func capitalize(s string) string {
	if first, _, _ := strings.Cut(s, " "); strings.Contains(first, ".") {
		return s
	}
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}
