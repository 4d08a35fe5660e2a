package report

// MaskedIPs returns a copy of r with this network's public IP addresses
// masked (MaskIP: 203.0.113.7 → 203.0.x.x; loopback and private addresses
// identify nobody and stay) in every text field — instance, ranges source,
// and each check's target, address, phase, reason, remedy and details —
// for reports shown to others: serve's /report in every format. The html
// renderer masks on its own (Options.ShowIP). r is not changed; the copy
// shares only read-only numbers (metrics, series) with it.
func (r *Report) MaskedIPs() *Report {
	if r == nil {
		return nil
	}
	mask := ipMasker(r, false)
	c := *r
	c.Instance = mask(r.Instance)
	c.Ranges.Source = mask(r.Ranges.Source)
	c.Checks = append(c.Checks[:0:0], r.Checks...)
	for i := range c.Checks {
		rc := &c.Checks[i]
		rc.Target, rc.Address, rc.Phase = mask(rc.Target), mask(rc.Address), mask(rc.Phase)
		rc.Reason, rc.Remedy = mask(rc.Reason), mask(rc.Remedy)
		if rc.Details != nil {
			d := make(map[string]string, len(rc.Details))
			for k, v := range rc.Details {
				d[k] = mask(v)
			}
			rc.Details = d
		}
	}
	return &c
}
