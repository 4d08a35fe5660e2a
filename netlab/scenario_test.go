//go:build linux

package netlab_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/netlab"
)

// The scenarios run the built ccp-preflight inside the agent namespace of
// a lab of their own, as a user runs it (`ip netns exec AGENT ccp-preflight
// check --config lab.yaml --ranges lab-ranges.json --format json
// --no-progress --ice-servers creds.json`), switch one fault on, and read
// the JSON report back: the verdict, the failing check, its phase, its
// reason and its remedy. Each has its own namespaces (lab name), so they
// run in parallel.

// shortRun keeps the connectivity scenarios short: the media checks run for
// the minimum --duration.
var shortRun = []string{"--duration", "2s"}

// Remedy texts every scenario expects (probe.RemedyTURN / RemedyHTTPS with
// the lab's ranges file: the TURN addresses are its AMAZON_CONNECT ranges).
const (
	remedyTURN1 = `allow outbound UDP 3478 to turn1\.lab\.test`
	remedyRange = `203\.0\.113\.10/32`
	remedyWeb   = `allow outbound TCP 443 to connect\.lab\.test`
)

// scenario starts a routed lab named name with faults switched on.
func scenario(t *testing.T, name string, faults ...string) *netlab.Lab {
	t.Helper()
	needLab(t)
	t.Parallel()
	l := startLab(t, netlab.Options{Name: name})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, f := range faults {
		if err := l.On(ctx, f, ""); err != nil {
			t.Fatalf("fault %s: %v", f, err)
		}
	}
	return l
}

func TestScenarioHealthy(t *testing.T) {
	l := scenario(t, "nlok")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "pass")
	for _, c := range r.Checks {
		if c.Status == "fail" || c.Status == "warn" {
			t.Errorf("healthy lab: %v", c)
		}
	}
	// Every layer really ran against the lab (not skipped).
	for _, id := range []string{"ranges.freshness", "dns.resolve", "ranges.membership", "tcp.connect", "tls.handshake",
		"stun.binding", "turn.auth-challenge", "turn.allocate", "path.large-datagram", "nat.mapping", "media.quality",
		"signaling.websocket", "signaling.latency"} {
		expect(t, r, want{id: id, status: "pass"})
	}
	// No NAT between agent and cloud: the mapping is endpoint-independent.
	if cs := r.find("nat.mapping", ""); len(cs) > 0 {
		text := cs[0].Reason + " " + strings.Join(values(cs[0].Details), " ")
		if regexp.MustCompile(`(?i)address[- ]dependent|symmetric`).MatchString(text) {
			t.Errorf("healthy lab without NAT reported as address-dependent: %v", cs[0])
		}
	}
}

func TestScenarioUDPSilentDrop(t *testing.T) {
	l := scenario(t, "nludrop", "udp-drop")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "fail")
	// A silent drop is a timeout, not a local rejection.
	for _, turn := range netlab.TURNNames {
		expect(t, r, want{id: "stun.binding", target: turn, status: "fail",
			reason: []string{`no answer|timed? ?out|silently`},
			remedy: []string{`allow outbound UDP 3478 to ` + regexp.QuoteMeta(turn), remedyRange}})
	}
	expect(t, r, want{id: "turn.auth-challenge", target: "turn1", status: "fail", remedy: []string{remedyTURN1}})
	// TCP 443 is untouched.
	expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "pass"})
}

func TestScenarioUDPLocalReject(t *testing.T) {
	l := scenario(t, "nlurej", "udp-reject")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "stun.binding", target: "turn1", status: "fail",
		reason: []string{`not permitted|local firewall|this computer`},
		remedy: []string{remedyTURN1}})
	for _, c := range r.find("stun.binding", "") {
		if regexp.MustCompile(`(?i)silently|timed? ?out`).MatchString(c.Reason) {
			t.Errorf("a local rejection reported as a timeout: %v", c)
		}
	}
}

func TestScenarioTCP443Blocked(t *testing.T) {
	l := scenario(t, "nltcp", "tcp443-drop")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "fail",
		phase:  regexp.MustCompile(`(?i)connect`),
		reason: []string{`no answer|timed? ?out|silently`},
		remedy: []string{remedyWeb}})
	// Media is unaffected.
	expect(t, r, want{id: "stun.binding", target: "turn1", status: "pass"})
}

func TestScenarioDNSDown(t *testing.T) {
	l := scenario(t, "nldnsdown", "dns-down")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "fail")
	for _, name := range append(append([]string{}, netlab.TURNNames...), netlab.WebNames...) {
		expect(t, r, want{id: "dns.resolve", target: name, status: "fail",
			phase:  regexp.MustCompile(`(?i)resolve|dns|query`),
			reason: []string{`refused|unreachable|no answer|not answer|down|timed? ?out`},
			remedy: []string{`dns|53|resolver`}})
	}
}

func TestScenarioNXDomain(t *testing.T) {
	l := scenario(t, "nlnx", "nxdomain")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "fail")
	for _, name := range netlab.TURNNames {
		expect(t, r, want{id: "dns.resolve", target: name, status: "fail",
			phase:  regexp.MustCompile(`(?i)resolve|dns|query`),
			reason: []string{`nxdomain|does not exist|no such`}})
	}
	expect(t, r, want{id: "dns.resolve", target: "connect.lab.test", status: "pass"})
}

func TestScenarioDNSOutsideRanges(t *testing.T) {
	l := scenario(t, "nlhijack", "hijack")
	r, code := runCheck(t, l, shortRun...)
	cs := r.find("ranges.membership", "connect.lab.test")
	expect(t, r, want{id: "ranges.membership", target: "connect.lab.test", status: "warn|fail",
		reason: []string{`outside|not in|hijack|proxy|stale`}})
	if len(cs) > 0 {
		expectVerdict(t, r, code, cs[0].Status)
		if !strings.Contains(cs[0].Address+cs[0].Reason, netlab.Hijacked) {
			t.Errorf("ranges.membership does not name the address %s: %v", netlab.Hijacked, cs[0])
		}
	}
	// The TURN names resolve inside the ranges.
	expect(t, r, want{id: "ranges.membership", target: "turn1", status: "pass"})
}

func TestScenarioTLSInterception(t *testing.T) {
	l := scenario(t, "nltls", "intercept")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "tls.handshake", target: "connect.lab.test", status: "fail",
		phase:  regexp.MustCompile(`(?i)tls|verify|handshake|cert|chain|issuer`),
		reason: []string{`Corp TLS Inspection CA`, `inspect|intercept|untrusted|unknown`}})
	expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "pass"})
}

// TestScenarioLargeDatagramsDropped: UDP 3478 datagrams above 1000 bytes
// are dropped on the way out. A browser's 680-byte DTLS server flight
// passes, its 1236-byte ClientHello does not (netlab/browser_call_test.go
// shows both calls): with the browser's DTLS role unknown the check warns
// naming both roles; told the browser is the DTLS client it fails, the
// DTLS server it passes.
func TestScenarioLargeDatagramsDropped(t *testing.T) {
	l := scenario(t, "nllarge", "large-drop")
	r, code := runCheck(t, l, shortRun...)
	expect(t, r, want{id: "path.large-datagram", target: "turn1", status: "warn",
		reason: []string{`upstream`, `ClientHello`, `DTLS client`, `DTLS server`, `dtls_role`},
		remedy: []string{`UDP datagrams of at least 1272 bytes`}})
	// Small datagrams pass: STUN works, so this is not a blocked port.
	expect(t, r, want{id: "stun.binding", target: "turn1", status: "pass"})
	expectVerdict(t, r, code, "warn")

	for role, status := range map[string]string{"client": "fail", "server": "pass"} {
		cfg := l.File("lab-" + role + ".yaml")
		b, err := os.ReadFile(l.File(netlab.FileConfig))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, append(b, []byte("\ndtls_role: "+role+"\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		r, code := runCheck(t, l, append([]string{"--config", cfg}, shortRun...)...)
		expect(t, r, want{id: "path.large-datagram", target: "turn1", status: status})
		expect(t, r, want{id: "media.relay", target: "", status: status})
		expectVerdict(t, r, code, status)
	}
}

func TestScenarioWrongCredentials(t *testing.T) {
	l := scenario(t, "nlcreds")
	r, code := runCheck(t, l, append([]string{"--ice-servers", netlab.FileBadCreds}, shortRun...)...)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "turn.allocate", target: "turn1", status: "fail",
		reason: []string{`credential|401|unauthori`}})
	// The server is fine: its unauthenticated challenge passes.
	expect(t, r, want{id: "turn.auth-challenge", target: "turn1", status: "pass"})
}

func TestScenarioTURNServerDown(t *testing.T) {
	l := scenario(t, "nlturndown", "turn-down")
	r, code := runCheck(t, l, shortRun...)
	expectVerdict(t, r, code, "fail")
	expect(t, r, want{id: "stun.binding", target: "turn1", status: "fail",
		reason: []string{`refused|reject|unreachable|no answer|not listening|down`}})
	expect(t, r, want{id: "stun.binding", target: "turn2", status: "pass"})
	expect(t, r, want{id: "dns.resolve", target: "turn1", status: "pass"})
	expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "pass"})
}

func TestScenarioSymmetricNAT(t *testing.T) {
	l := scenario(t, "nlnat", "nat-symmetric")
	r, code := runCheck(t, l, shortRun...)
	cs := r.find("nat.mapping", "")
	if len(cs) == 0 {
		t.Fatalf("no nat.mapping check in the report")
	}
	c := cs[0]
	if c.Status == "skip" || c.Status == "fail" {
		t.Errorf("nat.mapping with two TURN servers behind a symmetric NAT: %v", c)
	}
	text := c.Reason + " " + strings.Join(values(c.Details), " ")
	if !regexp.MustCompile(`(?i)address[- ]dependent|symmetric`).MatchString(text) {
		t.Errorf("nat.mapping does not report address-dependent (symmetric) mapping: %v", c)
	}
	// Relay-only media still works through it: STUN and TURN pass.
	expect(t, r, want{id: "stun.binding", target: "turn1", status: "pass"})
	// Relay-only media works through any NAT, so nothing may fail here. A
	// turn.allocate that checks the relay by sending to its own peer
	// socket's STUN-mapped address is a false alarm behind this NAT: the
	// NAT maps (and filters) per destination, so the relay must answer the
	// address it saw the peer's data come from.
	for _, c := range r.Checks {
		if c.Status == "fail" {
			t.Errorf("behind a symmetric NAT (exit %d), where relay-only media works, this check fails: %v", code, c)
		}
	}
	if r.Verdict == "fail" {
		t.Errorf("verdict fail behind a symmetric NAT (exit %d)", code)
	}
}

func values(m map[string]string) []string {
	var v []string
	for _, s := range m {
		v = append(v, s)
	}
	return v
}

// qualityDuration gives media.quality 1500 packets at 50 per second: the
// media issue's accuracy bounds are stated over at least 1500 packets.
const qualityDuration = "30s"

// TestScenarioImpairedQuality runs the check through the impairment
// bridge: agent→cloud delay 80 ms ± 10 ms (uniform) and exactly 2% loss
// (every 50th packet of each flow). The truth is what the bridge actually
// did to the TURN datagrams of the run (bridge.Stats: each datagram's hold
// each way, from kernel arrival to send, and the mean change of the hold
// between consecutive datagrams of a flow) and the deterministic 2%.
// media.quality must measure RTT within 1 ms + 2% of it, jitter within
// 2 ms, loss within 0.5 pp, and grade per profile: 2% loss is above both
// profiles' 1% warning and under their 3% failure, each citing its source.
//
// When the bridge could not hold its configuration (a loaded machine: the
// applied RTT off by more than 1 ms + 2%, or the jitter by more than 2 ms)
// the run says so and measures again; after scenarioTries it skips with
// the figures. Before, it failed then ("the lab machine is too loaded to
// measure") although the check measured what was applied.
//
// It is not parallel: Go runs it, like TestBridgeAccuracy, on its own
// before the parallel scenarios, so the other labs' load does not blur the
// timing; the check runs ahead of ordinary load (netlab.AheadOfLoad), like the
// bridge.
func TestScenarioImpairedQuality(t *testing.T) {
	needLab(t)
	l := startLab(t, netlab.Options{Name: "nlq", Bridged: true, AB: "delay=80ms,jitter=10ms,every=50"})
	type run struct {
		profile, source string
		r               Report
		code            int
	}
	const loss = 0.02 // deterministic: every 50th datagram of each flow
	var off []string
	for try := 1; try <= scenarioTries; try++ {
		runs := []*run{{profile: "connect", source: `Twilio`}, {profile: "strict", source: `Microsoft`}}
		ab0, ba0, err := l.BridgeStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// Both profiles measure the same path at once (separate sockets, so
		// each flow loses exactly every 50th packet).
		t.Run(fmt.Sprintf("measure-%d", try), func(t *testing.T) {
			for _, ru := range runs {
				t.Run(ru.profile, func(t *testing.T) {
					t.Parallel()
					ru.r, ru.code = runCheckAs(t, l, true, "--duration", qualityDuration, "--profile", ru.profile, "--skip", "media.relay,capacity")
				})
			}
		})
		ab1, ba1, err := l.BridgeStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ab, ba := ab1.Sub(ab0), ba1.Sub(ba0)
		rttMS := ab.HoldMeanMS() + ba.HoldMeanMS()
		jitterMS := ab.AbsDiffMeanMS() + ba.AbsDiffMeanMS()
		t.Logf("try %d: configured 80 ms ± 10 ms (jitter 6.67 ms), 2%%; applied to %d+%d TURN datagrams: RTT %.2f ms, jitter %.2f ms",
			try, ab.Watched, ba.Watched, rttMS, jitterMS)
		for _, ru := range runs {
			for _, c := range ru.r.find("media.quality", "") {
				m := c.Metrics
				t.Logf("try %d: profile %s %s: rtt %.2f ms, jitter %.2f ms, loss %.3f, mos %.2f", try, ru.profile, c.Target, m["rtt_ms"], m["jitter_ms"], m["loss_ratio"], m["mos"])
			}
		}
		if math.Abs(rttMS-80) > 1+0.02*80 || math.Abs(jitterMS-20.0/3) > 2 {
			off = append(off, fmt.Sprintf("applied RTT %.2f ms, jitter %.2f ms", rttMS, jitterMS))
			t.Logf("try %d: the bridge could not hold its configuration on this machine (%s for 80 ms, 6.67 ms): measuring again", try, off[len(off)-1])
			continue
		}
		for _, ru := range runs {
			cs := ru.r.find("media.quality", "turn1")
			if len(cs) == 0 {
				t.Errorf("profile %s: no media.quality for turn1", ru.profile)
				continue
			}
			for _, c := range ru.r.find("media.quality", "") {
				m := c.Metrics
				if d := m["rtt_ms"] - rttMS; math.Abs(d) > 1+0.02*rttMS {
					t.Errorf("%s: rtt_ms %.2f, applied %.2f (tolerance 1 ms + 2%%)", c.Target, m["rtt_ms"], rttMS)
				}
				// The bridge's figure is the round trip's: compare the
				// round-trip jitter (jitter_ms is its one-way estimate).
				if d := m["jitter_rtt_ms"] - jitterMS; math.Abs(d) > 2 {
					t.Errorf("%s: jitter_rtt_ms %.2f, applied %.2f (tolerance 2 ms)", c.Target, m["jitter_rtt_ms"], jitterMS)
				}
				if d := m["loss_ratio"] - loss; math.Abs(d) > 0.005 {
					t.Errorf("%s: loss_ratio %.4f, injected %.2f (tolerance 0.5 pp)", c.Target, m["loss_ratio"], loss)
				}
			}
			expect(t, ru.r, want{id: "media.quality", target: "turn1", status: "warn",
				reason: []string{`loss`, ru.source}})
			expectVerdict(t, ru.r, ru.code, "warn")
		}
		return
	}
	t.Skipf("the bridge could not hold its configuration in %d tries on this machine (%s): too loaded to measure; see the log for each run against what was applied", scenarioTries, strings.Join(off, "; "))
}

// scenarioTries is how often TestScenarioImpairedQuality measures when the
// bridge could not hold its configuration.
const scenarioTries = 3
