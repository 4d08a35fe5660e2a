package report

import (
	"encoding/json"
	"io"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// JSON writes the ccp-preflight/report/v1 document, indented, with its
// findings (computed when the report has none). Metric values
// that JSON cannot carry (NaN, ±Inf) are left out rather than failing the
// whole report.
//
// Besides the Report's own fields it writes "outcome" (OutcomeOf: ready,
// ready_with_warnings, not_ready, incomplete, not_checked) and "headline"
// (Headline), so that a script never reads a verdict into a run that was
// interrupted or tested nothing.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	r = jsonSafe(r)
	if r.Findings == nil {
		cp := *r
		cp.Findings = r.findings()
		r = &cp
	}
	return enc.Encode(jsonDoc{Report: r, Outcome: OutcomeOf(r), Headline: Headline(r)})
}

// jsonDoc is the JSON document: the Report and what is derived from it.
type jsonDoc struct {
	*Report
	Outcome  Outcome `json:"outcome"`
	Headline string  `json:"headline"`
}

// jsonSafe returns r, or a copy of it without non-finite metric values or
// series points when it has any.
func jsonSafe(r *Report) *Report {
	bad := false
	for _, c := range r.Checks {
		for _, v := range c.Metrics {
			bad = bad || !finite(v)
		}
		for _, s := range c.Series {
			bad = bad || !finite(s.T) || !finite(s.RTTMS) || !finite(s.JitterMS) || !finite(s.LossRatio)
		}
	}
	if !bad {
		return r
	}
	cp := *r
	cp.Checks = make([]result.Result, len(r.Checks))
	for i, c := range r.Checks {
		if c.Metrics != nil {
			m := make(map[string]float64, len(c.Metrics))
			for k, v := range c.Metrics {
				if finite(v) {
					m[k] = v
				}
			}
			c.Metrics = m
		}
		var ss []result.Sample
		for _, s := range c.Series {
			if finite(s.T) && finite(s.RTTMS) && finite(s.JitterMS) && finite(s.LossRatio) {
				ss = append(ss, s)
			}
		}
		c.Series = ss
		cp.Checks[i] = c
	}
	return &cp
}
