package probe

import (
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// TestBrowserUDPGrades: an answer (reflexive candidate, or a completed
// gathering with host candidates and no error) passes; no UDP candidate
// at all, a candidate error, or silence at the page's limit fails.
func TestBrowserUDPGrades(t *testing.T) {
	for _, c := range []struct {
		name  string
		s     browsercheck.Server
		want  result.Status
		phase string
	}{
		{"reflexive", browsercheck.Server{Srflx: []string{"198.51.100.7:50000"}, HostUDP: 1, Complete: true}, result.Pass, ""},
		{"answered, no NAT", browsercheck.Server{HostUDP: 2, Complete: true}, result.Pass, ""},
		{"no UDP at all", browsercheck.Server{Complete: true}, result.Fail, result.PhaseBrowser},
		{"error 701", browsercheck.Server{HostUDP: 1, Errors: []browsercheck.ICEErr{{Code: 701, Text: "STUN binding request timed out."}}}, result.Fail, result.PhaseResponse},
		{"silent at the limit", browsercheck.Server{HostUDP: 1, Complete: false}, result.Fail, result.PhaseResponse},
	} {
		r := gradeUDP(Result{}, c.s)
		if r.Status != c.want || r.Phase != c.phase {
			t.Errorf("%s: %s phase %q (%s); want %s %q", c.name, r.Status, r.Phase, r.Reason, c.want, c.phase)
		}
	}
	if r := gradeUDP(Result{}, browsercheck.Server{Srflx: []string{"198.51.100.7:50000"}}); r.Details["mapped_address"] != "198.51.100.7:50000" {
		t.Errorf("mapped address not kept (the HTML report masks it): %v", r.Details)
	}
}

// TestBrowserUDPBlame: a failed browser.udp names the browser when the
// tool's own stun.binding to the same server passed, and the network (with
// stun.binding's firewall remedy) when it failed too.
func TestBrowserUDPBlame(t *testing.T) {
	cfg := &config.Config{Region: "us-east-1"}
	tg := Target{Name: "turn.example:3478", Endpoint: catalog.Endpoint{Host: "turn.example", Port: 3478, Service: catalog.AmazonConnect}}
	silent := gradeUDP(Result{Target: tg.Name}, browsercheck.Server{HostUDP: 1})
	noUDP := gradeUDP(Result{Target: tg.Name}, browsercheck.Server{Complete: true})
	pass := Result{ID: "stun.binding", Target: tg.Name, Status: Pass}
	fail := Result{ID: "stun.binding", Target: tg.Name, Status: Fail, Remedy: "allow outbound UDP 3478 to turn.example"}
	other := Result{ID: "stun.binding", Target: "other:3478", Status: Pass}

	r := blameUDP(silent, cfg, tg, []Result{other, pass})
	if r.Phase != result.PhaseBrowser || !strings.Contains(r.Reason, "the cause is the browser") || !strings.Contains(r.Remedy, "WebRtcIPHandling") {
		t.Errorf("stun.binding passed: %+v", r)
	}
	r = blameUDP(silent, cfg, tg, []Result{pass, fail}[1:])
	if r.Phase != result.PhaseResponse || !strings.Contains(r.Reason, "the network, not the browser") || r.Remedy != fail.Remedy {
		t.Errorf("stun.binding failed: %+v", r)
	}
	r = blameUDP(noUDP, cfg, tg, []Result{fail})
	if !strings.Contains(r.Reason, "both must change") || !strings.Contains(r.Remedy, fail.Remedy) || !strings.Contains(r.Remedy, "WebRtcIPHandling") {
		t.Errorf("browser and network both block: %+v", r)
	}
	r = blameUDP(silent, cfg, tg, nil)
	if !strings.Contains(r.Reason, "did not run") || r.Remedy == "" {
		t.Errorf("stun.binding skipped: %+v", r)
	}
}
