// Package result is the contract between the checks that produce results
// and everything that consumes them (report renderers, the exporter, the
// exit code): Status, Result, Sample, Verdict, the phase names, and each
// check's Kind (the layer it is shown in, its perfdata, its chart).
//
// It is a leaf: it imports only the standard library, so report/ and
// exporter/ depend on it and not on probe/ (and not on pion). Field names
// and JSON tags are the ccp-preflight/report/v1 schema (docs/REPORTS.md).
package result

// Status is a check's verdict. The zero value is not a valid status.
type Status string

// The four statuses, ordered by severity in Severity.
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Severity orders statuses for verdicts: skip < pass < warn < fail.
func (s Status) Severity() int {
	switch s {
	case Warn:
		return 2
	case Fail:
		return 3
	case Pass:
		return 1
	}
	return 0
}

// Worse returns the more severe of s and o (s when equal).
func (s Status) Worse(o Status) Status {
	if o.Severity() > s.Severity() {
		return o
	}
	return s
}

// Result is one check against one target, the unit of every report.
// Field names and JSON tags are the ccp-preflight/report/v1 contract.
type Result struct {
	// ID is the stable check id, e.g. "stun.binding".
	ID string `json:"id"`
	// Target is what was checked as the user names it ("host:port", a name).
	Target string `json:"target"`
	// Address is the resolved address actually used, when there is one.
	Address string `json:"address,omitempty"`
	Status  Status `json:"status"`
	// Phase names the step that broke (one of the Phase constants);
	// empty when the check passed.
	Phase string `json:"phase"`
	// Reason says in plain words what was found; Remedy what to change.
	Reason string `json:"reason"`
	Remedy string `json:"remedy"`
	// DurationMS is the wall time the check took, in milliseconds.
	DurationMS float64 `json:"duration_ms"`
	// Metrics are numbers with SI-suffixed names: rtt_ms, jitter_ms, loss_ratio, mos.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Details are facts as text: mapped address, TLS issuer, interface name.
	Details map[string]string `json:"details,omitempty"`
	// Series is a per-second time series of a media measurement (may be nil).
	Series []Sample `json:"series,omitempty"`
}

// Sample is one second of a media measurement.
type Sample struct {
	// T is seconds since the measurement started.
	T         float64 `json:"t"`
	RTTMS     float64 `json:"rtt_ms"`
	JitterMS  float64 `json:"jitter_ms"`
	LossRatio float64 `json:"loss_ratio"`
	Sent      int     `json:"sent"`
	Received  int     `json:"received"`
}

// SetMetric records a metric, allocating the map on first use.
func (r *Result) SetMetric(name string, v float64) {
	if r.Metrics == nil {
		r.Metrics = map[string]float64{}
	}
	r.Metrics[name] = v
}

// SetDetail records a textual fact, allocating the map on first use.
func (r *Result) SetDetail(name, v string) {
	if r.Details == nil {
		r.Details = map[string]string{}
	}
	r.Details[name] = v
}

// Verdict is this computer's verdict: the worst status among results —
// fail if any failed, else warn if any warned, else pass (skips alone
// count as pass) — except that a check whose Kind is Site (it measures the
// site, e.g. how many concurrent calls the uplink carries, not whether
// this computer's calls work) counts at most as a warning: a site limit
// is reported, but it never makes this computer NOT READY.
func Verdict(results []Result) Status {
	v := Pass
	for _, r := range results {
		s := r.Status
		if s == Fail {
			if k, _ := KindOf(r.ID); k.Site {
				s = Warn
			}
		}
		v = v.Worse(s)
	}
	return v
}
