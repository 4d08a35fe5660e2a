package probe

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestSTUNBindingPassPion(t *testing.T) {
	srv := startUDPTestTURN(t, "agent", "pw")
	r := udpOne(t, stunBinding, udpTestConfig(srv.UDP))
	udpWant(t, r, Pass, "", nil, nil)
	if !strings.HasPrefix(r.Details["mapped_address"], "127.0.0.1:") {
		t.Errorf("mapped_address %q", r.Details["mapped_address"])
	}
	if _, ok := r.Metrics["rtt_ms"]; !ok || r.Address != "127.0.0.1:"+strconv.Itoa(srv.UDP) {
		t.Errorf("metrics %v address %q", r.Metrics, r.Address)
	}
}

func TestSTUNBindingPassCoturn(t *testing.T) {
	ct := startCoturn(t, "agent", "pw")
	r := udpOne(t, stunBinding, udpTestConfig(ct.Port))
	udpWant(t, r, Pass, "", nil, nil)
	if !strings.HasPrefix(r.Details["mapped_address"], "127.0.0.1:") {
		t.Errorf("mapped_address %q", r.Details["mapped_address"])
	}
}

func TestSTUNBindingFailures(t *testing.T) {
	const rule = "allow outbound UDP"
	cases := []struct {
		name   string
		port   int
		phase  string
		reason []string
		remedy []string
		max    time.Duration
	}{
		{"blackhole", udpTestBlackhole(t), result.PhaseResponse, []string{"no answer", "silently drops"}, []string{rule}, 3 * time.Second},
		{"refused", udpTestClosedPort(t), result.PhaseResponse, []string{"refused", "ICMP port unreachable"}, []string{rule, "ranges.membership"}, time.Second},
		{"garbage", udpTestGarbage(t), result.PhaseResponse, []string{"not with STUN"}, []string{"ranges.membership", "SIP ALG"}, 2 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := udpOne(t, stunBinding, udpTestConfig(c.port))
			udpWant(t, r, Fail, c.phase, c.reason, c.remedy)
			if time.Duration(r.DurationMS*float64(time.Millisecond)) > c.max {
				t.Errorf("took %.0f ms, want under %v", r.DurationMS, c.max)
			}
			if c.name != "garbage" && !strings.Contains(r.Remedy, "UDP "+strconv.Itoa(c.port)+" to 127.0.0.1") {
				t.Errorf("remedy %q does not name the port and host", r.Remedy)
			}
		})
	}
}

func TestSTUNBindingResolveFailureSkips(t *testing.T) {
	cfg := udpTestConfig(3478)
	cfg.TURN[0].Host = "no-such-turn.invalid"
	// Asked of a lab DNS server, never the system's.
	cfg.Resolver = startDNS(t, lab.DNSOptions{Mode: lab.DNSNXDomain}).Addr
	r := udpOne(t, stunBinding, cfg)
	udpWant(t, r, Skip, result.PhaseResolve, []string{"did not resolve", "dns.resolve"}, nil)
}

// TestSTUNBindingLocalFirewallEPERM: an nftables output drop makes the
// send fail at once with "operation not permitted"; it must be reported at
// once as a local firewall, not after a timeout.
func TestSTUNBindingLocalFirewallEPERM(t *testing.T) {
	const port = 3478
	cfg := udpTestConfig(port)
	env := NewEnv(cfg)
	for _, p := range []Probe{stunBinding, turnAuthChallenge} {
		var r Result
		udpTestInNetns(t, port, func() {
			ctx, cancel := context.WithTimeout(context.Background(), udpBudget(cfg))
			defer cancel()
			start := time.Now()
			r = p.Run(ctx, env, Target{Name: cfg.TURN[0].Addr(), Endpoint: cfg.TURN[0]})
			r.DurationMS = ms(time.Since(start))
		})
		if t.Skipped() {
			return
		}
		udpWant(t, r, Fail, result.PhaseSend, []string{"blocked on this computer", "operation not permitted"},
			[]string{"this computer's own firewall", "allow outbound UDP 3478 to 127.0.0.1"})
		if r.DurationMS > 200 {
			t.Errorf("%s: EPERM reported after %.0f ms, want at once", p.ID, r.DurationMS)
		}
	}

	// turn.allocate over UDP: pion's client returns the send error at once.
	ice := udpTestICE(udpTestUser, udpTestPass, "turn:127.0.0.1:3478?transport=udp")
	ts := turnAllocateTargets(ice)
	var r Result
	udpTestInNetns(t, port, func() {
		ctx, cancel := context.WithTimeout(context.Background(), turnAllocateBudget(ice))
		defer cancel()
		start := time.Now()
		r = turnAllocate.Run(ctx, NewEnv(ice), ts[0])
		r.DurationMS = ms(time.Since(start))
	})
	udpWant(t, r, Fail, result.PhaseAllocate, []string{"Allocate request", "operation not permitted"},
		[]string{"this computer's own firewall", "allow outbound UDP 3478 to 127.0.0.1"})
	if r.DurationMS > 200 {
		t.Errorf("turn.allocate: EPERM reported after %.0f ms, want at once", r.DurationMS)
	}
	udpNoSecret(t, r)
}
