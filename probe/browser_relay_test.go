package probe

import (
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// TestBrowserRelayGrades: the browser's call is graded with the run's
// thresholds (the same as media.relay's), each failure names its phase,
// and the tool's own call is shown beside it and tells who is to blame.
func TestBrowserRelayGrades(t *testing.T) {
	th, err := quality.Profile("connect")
	if err != nil {
		t.Fatal(err)
	}
	good := browsercheck.Call{Outcome: "connected", PacketsSent: 250, PacketsInWindow: 250, PacketsReceived: 250, DurationMS: 5000, RTTMS: 40, JitterMS: 3, PairRTTMS: 38}
	lossy := good
	lossy.PacketsReceived, lossy.PacketsLost = 240, 10 // 4% > the 3% fail limit
	slow := good
	slow.RTTMS = 250 // above the 200 ms warn limit
	noRTCP := good
	noRTCP.RTTMS = -1
	for _, c := range []struct {
		name  string
		call  browsercheck.Call
		want  result.Status
		phase string
	}{
		{"good", good, result.Pass, ""},
		{"lossy", lossy, result.Fail, result.PhaseQuality},
		{"slow", slow, result.Warn, result.PhaseQuality},
		{"RTT from the ICE pair", noRTCP, result.Pass, ""},
		{"no allocation", browsercheck.Call{Outcome: "ice-failed"}, result.Fail, result.PhaseAllocate},
		{"ICE", browsercheck.Call{Outcome: "ice-failed", RelayCandidatesA: 1}, result.Fail, result.PhaseICE},
		{"DTLS", browsercheck.Call{Outcome: "dtls-failed", RelayCandidatesA: 1}, result.Fail, result.PhaseDTLS},
		{"no media", browsercheck.Call{Outcome: "no-media", PacketsSent: 100}, result.Fail, result.PhaseMedia},
		{"script error", browsercheck.Call{Outcome: "error", Error: "TypeError: x"}, result.Fail, result.PhaseSetup},
	} {
		r := gradeCall(Result{}, c.call, th)
		if r.Status != c.want || r.Phase != c.phase {
			t.Errorf("%s: %s phase %q (%s); want %s %q", c.name, r.Status, r.Phase, r.Reason, c.want, c.phase)
		}
	}
	if r := gradeCall(Result{}, lossy, th); r.Metrics["loss_ratio"] != 0.04 || r.Metrics["packets_per_s"] != 50 {
		t.Errorf("lossy metrics %v", r.Metrics)
	}
	if r := gradeCall(Result{}, noRTCP, th); r.Metrics["rtt_ms"] != 38 {
		t.Errorf("RTT without RTCP: %v, want the pair's 38", r.Metrics["rtt_ms"])
	}

	tool := &Result{ID: "media.relay", Status: Pass, Metrics: map[string]float64{"rtt_ms": 35, "jitter_ms": 2, "loss_ratio": 0}}
	r := besideTool(gradeCall(Result{}, good, th), tool)
	if r.Metrics["tool_rtt_ms"] != 35 || !strings.Contains(r.Reason, "media.relay: RTT 35 ms") {
		t.Errorf("tool's figures not beside: %+v", r)
	}
	r = besideTool(gradeCall(Result{}, browsercheck.Call{Outcome: "ice-failed"}, th), tool)
	if r.Phase != result.PhaseBrowser || !strings.Contains(r.Reason, "the cause is the browser") {
		t.Errorf("browser to blame: %+v", r)
	}
	bad := &Result{ID: "media.relay", Status: Fail, Remedy: "allow outbound UDP 3478"}
	r = besideTool(gradeCall(Result{}, browsercheck.Call{Outcome: "ice-failed"}, th), bad)
	if r.Phase != result.PhaseAllocate || !strings.Contains(r.Reason, "the network, not the browser") || r.Remedy != bad.Remedy {
		t.Errorf("network to blame: %+v", r)
	}
}

// TestBrowserRelayUDPBlocked: a failed browser call whose TURN server's
// UDP 3478 the tool's own stun.binding could not reach blames the network
// with stun.binding's firewall rule, even when the tool's own call got
// through over TURN/TLS (which the CCP does not use).
func TestBrowserRelayUDPBlocked(t *testing.T) {
	th, _ := quality.Profile("connect")
	ice := &config.ICEServer{URLs: []string{"turn:turn1.example:3478?transport=udp", "turns:turn1.example:5349?transport=tcp"}}
	tg := Target{Name: "turn:turn1.example:3478?transport=udp turns:turn1.example:5349?transport=tcp", ICE: ice}
	tool := &Result{ID: "media.relay", Status: Pass, Metrics: map[string]float64{"rtt_ms": 20}}
	failed := besideTool(gradeCall(Result{}, browsercheck.Call{Outcome: "ice-failed"}, th), tool)
	stun := []Result{
		{ID: "stun.binding", Target: "turn2.example:3478", Status: Pass},
		{ID: "stun.binding", Target: "turn1.example:3478", Status: Fail, Remedy: "allow outbound UDP 3478 to turn1.example"},
	}
	r := blameNetworkWhenUDPBlocked(failed, tg, stun)
	if !strings.Contains(r.Reason, "the network, not the browser") || strings.Contains(r.Reason, "cause is the browser") ||
		r.Remedy != stun[1].Remedy || !strings.Contains(r.Reason, "another transport") {
		t.Errorf("UDP blocked for the call's server: %+v", r)
	}
	stun[1].Status = Pass
	if r := blameNetworkWhenUDPBlocked(failed, tg, stun); r.Reason != failed.Reason {
		t.Errorf("UDP open: the blame changed: %q", r.Reason)
	}
}
