package report

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// The rules of FindingsOf on hand-made results (the cascades with real
// servers are in preflight/findings_test.go).

// TestFindingsMergeIdenticalRemedies: the same failure on several hosts
// (a remedy that differs only in the host) is one finding listing them.
func TestFindingsMergeIdenticalRemedies(t *testing.T) {
	var cs []result.Result
	for _, h := range []string{"a.example.net", "b.example.net", "c.example.net"} {
		cs = append(cs, result.Result{ID: "tcp.connect", Target: h + ":443", Status: result.Fail, Phase: result.PhaseConnect,
			Reason: "TCP 443 to " + h + " was refused", Remedy: "allow outbound TCP 443 to " + h})
	}
	cs = append(cs, result.Result{ID: "tcp.connect", Target: "ok.example.net:443", Status: result.Pass})
	fs := FindingsOf(cs, "us-east-1")
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.Results != 3 || !slices.Equal(f.Targets, []string{"a.example.net", "b.example.net", "c.example.net"}) ||
		f.Remedy != "allow outbound TCP 443 to a.example.net, b.example.net and c.example.net" ||
		!strings.Contains(f.Title, "(and the same for 2 more)") || f.Who != result.WhoNetwork || f.Severity != result.Fail {
		t.Errorf("finding %+v", f)
	}
}

// TestFindingsOrder: failures first, then by rank, findings that need
// nobody last; a skip with nothing behind it is no finding.
func TestFindingsOrder(t *testing.T) {
	cs := []result.Result{
		{ID: "ranges.freshness", Target: "ranges", Status: result.Warn, Phase: result.PhaseFreshness, Reason: "old", Remedy: "update"},
		// A third-party name that no longer exists: nothing to do.
		{ID: "dns.resolve", Target: "old.example.net", Status: result.Warn, Phase: result.PhaseResolve, Reason: "gone", Remedy: "none",
			Details: map[string]string{"answer": "nxdomain", "published": "no"}},
		{ID: "dns.resolve", Target: "ok.example.net", Status: result.Pass},
		{ID: "tcp.connect", Target: "x.example.net:443", Status: result.Fail, Phase: result.PhaseConnect, Reason: "refused", Remedy: "allow"},
		{ID: "turn.allocate", Status: result.Skip, Reason: "no TURN credentials given"},
	}
	fs := FindingsOf(cs, "us-east-1")
	var got []string
	for _, f := range fs {
		got = append(got, string(f.Severity)+" "+string(f.Who)+" "+f.Checks[0])
	}
	want := []string{"fail network tcp.connect", "warn network ranges.freshness", "warn none dns.resolve"}
	if !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

// TestFindingsDependents: a check that depends on a failed one is counted
// under it (same host), a failure on another host is its own finding, and
// a check with no host of the dependency's attaches only when the whole
// dependency failed.
func TestFindingsDependents(t *testing.T) {
	blocked := func(h string) result.Result {
		return result.Result{ID: "stun.binding", Target: h + ":3478", Status: result.Fail, Phase: result.PhaseResponse, Reason: "no answer", Remedy: "allow UDP 3478 to " + h}
	}
	cs := []result.Result{
		blocked("t1.example.net"),
		{ID: "stun.binding", Target: "t2.example.net:3478", Status: result.Pass},
		{ID: "turn.auth-challenge", Target: "t1.example.net:3478", Status: result.Fail, Phase: result.PhaseResponse, Reason: "no answer", Remedy: "allow"},
		{ID: "turn.auth-challenge", Target: "t2.example.net:3478", Status: result.Fail, Phase: result.PhaseAuth, Reason: "no 401", Remedy: "check"},
		{ID: "media.quality", Target: "t1.example.net:3478", Status: result.Skip, Reason: "no path"},
		{ID: "nat.mapping", Target: "mapping across t1, t2", Status: result.Warn, Phase: result.PhaseResponse, Reason: "one server", Remedy: "-"},
	}
	fs := FindingsOf(cs, "us-east-1")
	if len(fs) != 3 {
		t.Fatalf("%d findings, want 3 (t1 silent, t2's own auth failure, the NAT warning): %+v", len(fs), fs)
	}
	if fs[0].Checks[0] != "stun.binding" || fs[0].Dependent != 2 || !slices.Equal(fs[0].Checks, []string{"stun.binding", "turn.auth-challenge", "media.quality"}) ||
		!strings.Contains(fs[0].Title, "t1.example.net does not answer on UDP 3478 (the others do)") {
		t.Errorf("t1 finding %+v", fs[0])
	}
	if fs[1].Checks[0] != "turn.auth-challenge" || fs[1].Targets[0] != "t2.example.net" {
		t.Errorf("t2 finding %+v", fs[1])
	}
	dep := DependsOn(cs)
	if dep[2] != "stun.binding" || dep[4] != "stun.binding" || dep[3] != "" || dep[5] != "" {
		t.Errorf("DependsOn %v", dep)
	}
	// Every TURN server silent: the NAT check (no host of stun.binding's)
	// is a consequence too, and the finding is "UDP 3478 is blocked".
	cs[1] = blocked("t2.example.net")
	fs = FindingsOf(cs, "eu-west-2")
	if !strings.HasPrefix(fs[0].Title, "UDP 3478 is blocked: none of the 2 TURN servers answers") || !slices.Contains(fs[0].Checks, "nat.mapping") ||
		!strings.Contains(fs[0].Remedy, "--region eu-west-2") {
		t.Errorf("all blocked: %+v", fs[0])
	}
}

// TestFindingsSharedCause: a cause two checks declare (the proxy refusing
// every tunnel: tcp.connect and signaling.websocket) is one finding over
// both, its targets naming the signaling domain (detail "domain"); its
// scope is judged over both, so a signaling socket that got through means
// the proxy does not refuse everything.
func TestFindingsSharedCause(t *testing.T) {
	refused := func(id, target string) result.Result {
		return result.Result{ID: id, Target: target, Status: result.Fail, Phase: result.PhaseProxy, Address: "10.0.0.8:3128",
			Reason: "the proxy refused to tunnel to " + target, Remedy: "allow " + target + " on the proxy"}
	}
	ws := refused("signaling.websocket", "wss://transport.connect.us-east-1.amazonaws.com/")
	ws.Details = map[string]string{"domain": "*.transport.connect.us-east-1.amazonaws.com"}
	cs := []result.Result{
		refused("tcp.connect", "a.example.net:443"),
		refused("tcp.connect", "b.example.net:443"),
		{ID: "tls.handshake", Target: "a.example.net:443", Status: result.Skip, Phase: result.PhaseProxy, Reason: "no tunnel"},
		ws,
	}
	fs := FindingsOf(cs, "us-east-1")
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.Title != "The proxy refuses every connection to Amazon Connect" || f.Results != 3 || f.Dependent != 1 ||
		!slices.Equal(f.Checks, []string{"tcp.connect", "signaling.websocket", "tls.handshake"}) ||
		!strings.HasSuffix(f.Remedy, "these 3 names, without authentication for them: a.example.net, b.example.net and *.transport.connect.us-east-1.amazonaws.com") {
		t.Errorf("finding %+v", f)
	}
	// The signaling socket got through: not "every connection".
	cs[3] = result.Result{ID: "signaling.websocket", Target: ws.Target, Status: result.Pass}
	for _, f := range FindingsOf(cs, "us-east-1") {
		if strings.Contains(f.Title, "refuses every connection") {
			t.Errorf("the proxy passed the signaling socket, yet %q", f.Title)
		}
	}
}

// TestFindingsBrowserUDP: browser.udp failing where the tool's own STUN
// (stun.binding) got through is the browser's finding, for this computer,
// one for browser.udp and browser.relay together; failing where
// stun.binding failed too, it is under the network's finding.
func TestFindingsBrowserUDP(t *testing.T) {
	const turn = "turn-a.example.net:3478"
	browserBlocked := result.Result{ID: "browser.udp", Target: turn, Status: result.Fail, Phase: result.PhaseBrowser, Reason: "no answer; the browser is the cause", Remedy: "policy"}
	cs := []result.Result{
		{ID: "stun.binding", Target: turn, Status: result.Pass},
		browserBlocked,
		{ID: "browser.relay", Target: "turn:turn-a.example.net:3478?transport=udp", Status: result.Fail, Phase: result.PhaseBrowser, Reason: "no call; the tool's own connected", Remedy: "policy"},
	}
	fs := FindingsOf(cs, "us-east-1")
	if len(fs) != 1 || !strings.HasPrefix(fs[0].Title, "The browser blocks WebRTC over UDP 3478") || fs[0].Who != result.WhoComputer ||
		fs[0].Results != 2 || !slices.Equal(fs[0].Checks, []string{"browser.udp", "browser.relay"}) || !strings.Contains(fs[0].Remedy, "WebRtcIPHandling") {
		t.Fatalf("browser blocks UDP: %+v", fs)
	}
	cs[0] = result.Result{ID: "stun.binding", Target: turn, Status: result.Fail, Phase: result.PhaseResponse, Reason: "no answer", Remedy: "allow UDP 3478 to turn-a.example.net"}
	cs[1] = result.Result{ID: "browser.udp", Target: turn, Status: result.Fail, Phase: result.PhaseResponse, Reason: "no answer; the network is the cause", Remedy: "allow UDP 3478 to turn-a.example.net"}
	cs[2].Phase = result.PhaseAllocate
	fs = FindingsOf(cs, "us-east-1")
	if len(fs) != 1 || fs[0].Checks[0] != "stun.binding" || fs[0].Dependent != 2 || fs[0].Who != result.WhoNetwork {
		t.Errorf("network blocks UDP: %+v", fs)
	}
}

// TestFindingsJSON: the JSON report carries the findings (schema v1
// extended: every old field is still there), also for a hand-built report.
func TestFindingsJSON(t *testing.T) {
	out := render(t, "json", sampleReport(), Options{})
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "version", "started_at", "duration_ms", "region", "instance", "ranges", "verdict", "checks", "findings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var fs []map[string]any
	if err := json.Unmarshal(doc["findings"], &fs); err != nil || len(fs) != 2 {
		t.Fatalf("findings %s (%v)", doc["findings"], err)
	}
	if fs[0]["severity"] != "fail" || fs[0]["who"] != "network" || fs[0]["checks"].([]any)[0] != "stun.binding" || fs[0]["remedy"] == "" {
		t.Errorf("first finding %v", fs[0])
	}
	if out := render(t, "json", passingReport(), Options{}); !strings.Contains(out, `"findings": []`) {
		t.Error(`a passing report has "findings": []`)
	}
}

func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{
		"TurnNlb-1.elb.us-east-1.amazonaws.com:3478":          "turnnlb-1.elb.us-east-1.amazonaws.com",
		"turn:TurnNlb-1.example.net:3478?transport=udp":       "turnnlb-1.example.net",
		"turns:h.example.net:443?transport=tcp":               "h.example.net",
		"https://myalias.my.connect.aws/ccp-v2":               "myalias.my.connect.aws",
		"[2001:db8::1]:3478":                                  "2001:db8::1",
		"myalias.my.connect.aws":                              "myalias.my.connect.aws",
		"clock":                                               "",
		"ranges":                                              "",
		"mapping across a.example.net:3478, b.example.net:34": "",
		"": "",
	} {
		if got := hostOf(in); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzFindings: results as servers and configs can word them never make
// FindingsOf or the text renderer panic, and every failed result is behind
// a finding.
func FuzzFindings(f *testing.F) {
	f.Add("stun.binding", "h.example.net:3478", "response", "allow h.example.net", "dns.resolve", "h.example.net", "answer=nxdomain")
	f.Add("tcp.connect", "[::1]:443", "proxy", "", "tls.handshake", "turn:x:1?y", "issuer")
	f.Fuzz(func(t *testing.T, id1, target1, phase, remedy, id2, target2, detail string) {
		k, v, _ := strings.Cut(detail, "=")
		cs := []result.Result{
			{ID: id1, Target: target1, Status: result.Fail, Phase: phase, Reason: remedy, Remedy: remedy, Details: map[string]string{k: v}},
			{ID: id2, Target: target2, Status: result.Skip, Phase: phase},
			{ID: id2, Target: target1, Status: result.Warn, Phase: phase, Remedy: target2},
			{ID: id1, Target: target2, Status: result.Pass},
		}
		fs := FindingsOf(cs, "us-east-1")
		covered := 0
		for _, f := range fs {
			covered += f.Results + f.Dependent
			if f.Severity != result.Fail && f.Severity != result.Warn {
				t.Fatalf("severity %q", f.Severity)
			}
		}
		if covered < 1 {
			t.Fatalf("the failure is behind no finding: %+v", fs)
		}
		var b strings.Builder
		r := &Report{Checks: cs, Verdict: result.Fail}
		if err := Text(&b, r, Options{Verbose: true}); err != nil {
			t.Fatal(err)
		}
	})
}
