package report

import "strings"

// MinRedactLen is the shortest secret Redact replaces: shorter strings
// (a one-letter username) would blank out ordinary words of the report.
const MinRedactLen = 6

// Redact replaces every occurrence of each secret (ICE usernames and
// credentials, from config.Secret.Reveal) in the report's text fields —
// target, address, phase, reason, remedy, details — with "[redacted]". It
// is the last guard against a probe that quotes a credential by mistake:
// every format renders from the redacted report. Secrets shorter than
// MinRedactLen are left alone.
func (r *Report) Redact(secrets ...string) {
	var rs []string
	for _, s := range secrets {
		if len(s) >= MinRedactLen {
			rs = append(rs, s, "[redacted]")
		}
	}
	if len(rs) == 0 || r == nil {
		return
	}
	rep := strings.NewReplacer(rs...)
	r.Instance = rep.Replace(r.Instance)
	r.Ranges.Source = rep.Replace(r.Ranges.Source)
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Title, f.Remedy = rep.Replace(f.Title), rep.Replace(f.Remedy)
		for j := range f.Targets {
			f.Targets[j] = rep.Replace(f.Targets[j])
		}
	}
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Target, c.Address, c.Phase = rep.Replace(c.Target), rep.Replace(c.Address), rep.Replace(c.Phase)
		c.Reason, c.Remedy = rep.Replace(c.Reason), rep.Replace(c.Remedy)
		if c.Details != nil {
			d := make(map[string]string, len(c.Details))
			for k, v := range c.Details {
				d[rep.Replace(k)] = rep.Replace(v)
			}
			c.Details = d
		}
	}
}
