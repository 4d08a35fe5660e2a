package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// JUnit XML, the shape CI systems read (Jenkins, GitLab, GitHub actions):
// <testsuites> with one <testsuite> per layer and one <testcase> per check
// and target.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Time       string      `xml:"time,attr"`
	Timestamp  string      `xml:"timestamp,attr"`
	Hostname   string      `xml:"hostname,attr"`
	Properties *junitProps `xml:"properties,omitempty"`
	Cases      []junitCase `xml:"testcase"`
}

type junitProps struct {
	List []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut *junitCDATA   `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

type junitCDATA struct {
	Text string `xml:",cdata"`
}

// JUnit writes one testcase per check and target, in testsuites per layer
// (LayerOrder). A failed check is a <failure> whose message is the reason
// and whose text adds the phase, the fix and the metrics; a skipped check
// is <skipped> with its reason; a warning passes with the warning in
// <system-out>, unless FailOn is warn, then it is a failure. Testcase names
// are unique in the document (a repeated check and target gets "#2"); every
// suite carries the run's timestamp and the computer's hostname; the first
// suite's properties carry the verdict, outcome, region, version and
// ranges. A run that is no verdict (OutcomeOf: incomplete, not_checked)
// adds a suite "Run" with one <error> case saying so.
func JUnit(w io.Writer, r *Report, o Options) error {
	doc := junitSuites{Name: "ccp-preflight " + r.Region, Time: secs(r.DurationMS)}
	host := "localhost"
	if r.Environment != nil && r.Environment.Hostname != "" {
		host = oneLine(r.Environment.Hostname)
	}
	stamp := r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	names := map[string]int{}
	for i, g := range Groups(r.Checks) {
		s := junitSuite{Name: string(g.Layer), Timestamp: stamp, Hostname: host}
		if i == 0 {
			s.Properties = &junitProps{List: []junitProperty{
				{"verdict", string(r.Verdict)}, {"outcome", string(OutcomeOf(r))}, {"headline", Headline(r)}, {"region", r.Region},
				{"instance", r.Instance}, {"version", r.Version},
				{"ranges_source", r.Ranges.Source}, {"ranges_create_date", r.Ranges.CreateDate},
			}}
		}
		var total float64
		for _, c := range g.Checks {
			total += c.DurationMS
			name := c.ID
			if c.Target != "" {
				name += " " + c.Target
			}
			// Unique within the report: a target checked twice gets "#2".
			names[name]++
			if n := names[name]; n > 1 {
				name = fmt.Sprintf("%s #%d", name, n)
			}
			tc := junitCase{Name: name, Classname: "ccp-preflight." + c.ID, Time: secs(c.DurationMS)}
			detail := caseDetail(c)
			switch {
			case c.Status == result.Fail || (c.Status == result.Warn && o.failOn() == result.Warn):
				tc.Failure = &junitMessage{Message: oneLine(c.Reason), Type: c.Phase, Text: detail}
				s.Failures++
			case c.Status == result.Skip:
				tc.Skipped = &junitMessage{Message: oneLine(c.Reason)}
				s.Skipped++
			case c.Status == result.Warn:
				tc.SystemOut = &junitCDATA{"WARNING: " + detail}
			default:
				tc.SystemOut = &junitCDATA{detail}
			}
			s.Cases = append(s.Cases, tc)
		}
		s.Tests, s.Time = len(g.Checks), secs(total)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if o := OutcomeOf(r); o.Verdictless() {
		// Not a verdict: one errored case, so a CI run is never green on
		// an interrupted run or one that tested nothing.
		s := junitSuite{Name: "Run", Tests: 1, Errors: 1, Time: secs(r.DurationMS), Cases: []junitCase{{
			Name: "run " + string(o), Classname: "ccp-preflight.run", Time: secs(r.DurationMS),
			Error: &junitMessage{Message: oneLine(Headline(r)), Type: string(o)},
		}}}
		doc.Tests++
		doc.Errors++
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// caseDetail is a check's facts as lines: status, address, phase, reason,
// fix, metrics.
func caseDetail(c result.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", strings.ToUpper(string(c.Status)), oneLine(c.ID), oneLine(c.Target))
	if c.Address != "" && c.Address != c.Target {
		fmt.Fprintf(&b, " (%s)", oneLine(c.Address))
	}
	b.WriteString("\n")
	if c.Phase != "" {
		fmt.Fprintf(&b, "phase: %s\n", oneLine(c.Phase))
	}
	if c.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", oneLine(c.Reason))
	}
	if c.Remedy != "" {
		fmt.Fprintf(&b, "fix: %s\n", oneLine(c.Remedy))
	}
	if m := metricsLine(c.Metrics); m != "" {
		fmt.Fprintf(&b, "metrics: %s\n", m)
	}
	return b.String()
}

func secs(ms float64) string {
	if !finite(ms) {
		ms = 0
	}
	return fmt.Sprintf("%.3f", ms/1000)
}
