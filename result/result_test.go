package result

import "testing"

// TestVerdictSiteChecks: a failed site check (Kind.Site: capacity of the
// site's uplink, not this computer's call) makes the verdict a warning at
// most; a failed per-computer check still fails the run.
func TestVerdictSiteChecks(t *testing.T) {
	Declare(Kind{ID: "test.site-verdict", Layer: LayerQuality, Site: true},
		Kind{ID: "test.computer-verdict", Layer: LayerMedia})
	site := Result{ID: "test.site-verdict", Status: Fail}
	ok := Result{ID: "test.computer-verdict", Status: Pass}
	bad := Result{ID: "test.computer-verdict", Status: Fail}
	undeclared := Result{ID: "test.not-declared", Status: Fail}
	for _, c := range []struct {
		name string
		in   []Result
		want Status
	}{
		{"site fail alone", []Result{ok, site}, Warn},
		{"site fail and computer fail", []Result{site, bad}, Fail},
		{"site warn", []Result{ok, {ID: "test.site-verdict", Status: Warn}}, Warn},
		{"site pass", []Result{ok, {ID: "test.site-verdict", Status: Pass}}, Pass},
		{"undeclared fail counts", []Result{ok, undeclared}, Fail},
		{"skips only", []Result{{ID: "test.computer-verdict", Status: Skip}}, Pass},
	} {
		if got := Verdict(c.in); got != c.want {
			t.Errorf("%s: Verdict = %s, want %s", c.name, got, c.want)
		}
	}
}
