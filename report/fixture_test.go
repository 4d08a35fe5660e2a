package report

import (
	"fmt"
	"math"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// Two TURN servers of us-east-1 as the catalog names them.
const (
	turnA = "TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com:3478"
	turnB = "TurnNlb-8d3f2a7b1c9e4f05.elb.us-east-1.amazonaws.com:3478"
	// publicIP is this network's address as STUN saw it (TEST-NET-3).
	publicIP = "203.0.113.77"
	// The failing check's remedy, as probe.RemedyTURN words it.
	turnRemedy = "allow outbound UDP 3478 to TurnNlb-8d3f2a7b1c9e4f05.elb.us-east-1.amazonaws.com (domain allowlist) or to 15.193.0.0/19 and 15.193.6.0/24 (AMAZON_CONNECT ranges), and the replies back to this computer's ephemeral UDP ports on a stateless firewall"
	// Fake ICE credentials: no format may ever show them.
	iceUser   = "1732480000:ccp-agent-4f9a1b"
	iceSecret = "c2VjcmV0LWNyZWRlbnRpYWwtZG8tbm90LWxlYWs="
)

// series makes n seconds of media samples around rtt/jitter with loss.
func series(n int, rtt, jitter, loss float64) []result.Sample {
	var ss []result.Sample
	for i := 0; i < n; i++ {
		w := math.Sin(float64(i) / 2)
		l := 0.0
		if loss > 0 && i%3 == 1 {
			l = loss * 3
		}
		ss = append(ss, result.Sample{T: float64(i + 1), RTTMS: rtt + 4*w, JitterMS: jitter + 2*w*w, LossRatio: l, Sent: 50, Received: 50 - int(l*50)})
	}
	return ss
}

// sampleReport is a realistic failing run: passes in every layer, a
// warning (jitter on TURN A), a failure (UDP 3478 blocked to TURN B), a
// skip, the public address in stun.binding's details, and media series for
// both TURN servers.
func sampleReport() *Report {
	start := time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)
	r := &Report{
		Schema: Schema, Version: "v1.2.3", StartedAt: start, DurationMS: 7412.5,
		Region: "us-east-1", Instance: "acme-support",
		Ranges: RangesInfo{Source: "embedded", CreateDate: "2026-11-02T18:13:05Z", SyncToken: "1762107185"},
	}
	add := func(c result.Result) { r.Checks = append(r.Checks, c) }
	// Deliberately not in layer order: renderers must group.
	add(result.Result{ID: "media.quality", Target: turnA, Address: "15.193.6.10:3478", Status: result.Warn, Phase: "measure",
		Reason:     "jitter 38.2 ms is above 30 ms (Twilio Voice warning (jitter > 30 ms)): calls may sound choppy",
		Remedy:     "prioritise UDP 3478 to Connect's TURN servers (QoS / DSCP EF) and move agents off congested Wi-Fi",
		DurationMS: 5003, Metrics: map[string]float64{"rtt_ms": 23.4, "jitter_ms": 38.2, "loss_ratio": 0.004, "mos": 4.02, "burst_loss_ratio": 0.002},
		Series: series(5, 23.4, 36, 0.004)})
	add(result.Result{ID: "media.quality", Target: turnB, Status: result.Skip, Reason: "no UDP path to this TURN server (stun.binding failed)", Series: nil})
	add(result.Result{ID: "dns.resolve", Target: "acme-support.my.connect.aws", Address: "54.239.0.10", Status: result.Pass, DurationMS: 12.1})
	add(result.Result{ID: "dns.resolve", Target: "TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com", Address: "15.193.6.10", Status: result.Pass, DurationMS: 9.8})
	add(result.Result{ID: "tcp.connect", Target: "acme-support.my.connect.aws:443", Address: "54.239.0.10:443", Status: result.Pass, DurationMS: 21.7, Metrics: map[string]float64{"rtt_ms": 21.7}})
	add(result.Result{ID: "tls.handshake", Target: "acme-support.my.connect.aws:443", Address: "54.239.0.10:443", Status: result.Pass, DurationMS: 48.2,
		Details: map[string]string{"issuer": "Amazon RSA 2048 M02", "version": "TLS 1.3"}})
	add(result.Result{ID: "stun.binding", Target: turnA, Address: "15.193.6.10:3478", Status: result.Pass, DurationMS: 24.9,
		Metrics: map[string]float64{"rtt_ms": 22.8}, Details: map[string]string{"mapped_address": publicIP + ":51234"}})
	add(result.Result{ID: "stun.binding", Target: turnB, Address: "15.193.7.20:3478", Status: result.Fail, Phase: "read",
		Reason: "no answer to STUN Binding on UDP 3478 within 2s: a firewall drops the traffic silently",
		Remedy: turnRemedy, DurationMS: 2001})
	add(result.Result{ID: "turn.allocate", Target: "turn:" + turnA + "?transport=udp", Status: result.Pass, DurationMS: 88,
		Details: map[string]string{"relayed_address": "15.193.6.99:50000", "mapped_address": publicIP + ":51234"}})
	add(result.Result{ID: "env.clock", Target: "acme-support.my.connect.aws:443", Status: result.Pass, Metrics: map[string]float64{"skew_ms": -180}})
	add(result.Result{ID: "ranges.freshness", Target: "ranges", Status: result.Pass, Metrics: map[string]float64{"age_days": 22}})
	add(result.Result{ID: "media.quality", Target: "TurnNlb-0000000000000000.elb.us-east-1.amazonaws.com:3478", Address: "15.193.6.11:3478", Status: result.Pass,
		DurationMS: 5001, Metrics: map[string]float64{"rtt_ms": 19.5, "jitter_ms": 3.1, "loss_ratio": 0, "mos": 4.38}, Series: series(5, 19.5, 3, 0)})
	r.Verdict = result.Verdict(r.Checks)
	return r
}

// passingReport is a run where everything passed.
func passingReport() *Report {
	r := sampleReport()
	var keep []result.Result
	for _, c := range r.Checks {
		if c.Status == result.Pass {
			keep = append(keep, c)
		}
	}
	r.Checks, r.Verdict = keep, result.Pass
	return r
}

// warningReport is a run with warnings and no failure.
func warningReport() *Report {
	r := sampleReport()
	var keep []result.Result
	for _, c := range r.Checks {
		if c.Status != result.Fail {
			keep = append(keep, c)
		}
	}
	r.Checks = keep
	r.Verdict = result.Verdict(keep)
	return r
}

// leakyReport is sampleReport from a config holding ICE credentials, with a
// buggy probe that put the credentials (revealed) and the ICE server
// (formatted) into its reason, details and target, then redacted the way
// check and serve do before rendering.
func leakyReport() (*Report, []string) {
	ice, err := config.ParseICEServers([]byte(fmt.Sprintf(`[{"urls":["turn:%s?transport=udp"],"username":%q,"credential":%q}]`, turnA, iceUser, iceSecret)), "test")
	if err != nil {
		panic(err)
	}
	s := ice[0]
	r := sampleReport()
	bad := result.Result{ID: "turn.allocate", Target: "turn:" + turnA + "?user=" + s.Username.Reveal(), Status: result.Fail, Phase: "allocate",
		Reason:  fmt.Sprintf("TURN rejected the credentials: 401 (username %s, credential %s, server %+v)", s.Username.Reveal(), s.Credential.Reveal(), s),
		Remedy:  "check the credential " + s.Credential.Reveal(),
		Details: map[string]string{"credential": s.Credential.Reveal(), "ice": fmt.Sprintf("%#v", s), s.Username.Reveal(): "key"}}
	r.Checks = append(r.Checks, bad)
	r.Verdict = result.Verdict(r.Checks)
	r.Redact(s.Username.Reveal(), s.Credential.Reveal())
	return r, []string{iceUser, iceSecret}
}
