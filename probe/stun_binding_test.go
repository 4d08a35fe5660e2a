package probe

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/pion/stun/v4"
)

func TestTransactBindingRTTAndMappedAddress(t *testing.T) {
	port := udpTestSTUN(t, 0, 0)
	conn, err := DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	x, mapped, err := Binding(ctx, conn, nil, Schedule{})
	if err != nil {
		t.Fatal(err)
	}
	if !x.OK() || x.Sent != 1 || x.Kind != KindNone {
		t.Fatalf("exchange %+v", x)
	}
	if mapped.String() != conn.LocalAddr().String() {
		t.Errorf("mapped %s, want our own %s", mapped, conn.LocalAddr())
	}
	if x.RTT <= 0 || x.RTT > 500*time.Millisecond {
		t.Errorf("RTT %v", x.RTT)
	}
}

func TestTransactRetransmitsOnOwnSchedule(t *testing.T) {
	// A server that ignores the first two requests: the third transmission
	// is answered, and the RTT is that transmission's, not since the first.
	seen := 0
	port := udpTestServe(t, func(pc net.PacketConn, b []byte, from net.Addr) {
		seen++
		if seen < 3 {
			return
		}
		req := &stun.Message{Raw: b}
		if req.Decode() != nil {
			return
		}
		res := stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: 1}, stun.Fingerprint)
		_, _ = pc.WriteTo(res.Raw, from)
	})
	conn, err := DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	x, _, err := Binding(ctx, conn, nil, Schedule{RTO: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !x.OK() || x.Sent != 3 {
		t.Fatalf("want an answer to the 3rd transmission, got %+v", x)
	}
	if x.RTT > 40*time.Millisecond {
		t.Errorf("RTT %v: measured from an earlier transmission", x.RTT)
	}
	if x.Elapsed < 150*time.Millisecond {
		t.Errorf("elapsed %v: retransmitted faster than the schedule (50+100 ms)", x.Elapsed)
	}
}

func TestTransactFailureKinds(t *testing.T) {
	cases := []struct {
		name string
		port int
		want Kind
		max  time.Duration
	}{
		{"blackhole", udpTestBlackhole(t), KindTimeout, 2 * time.Second},
		{"refused", udpTestClosedPort(t), KindRefused, 300 * time.Millisecond},
		{"garbage", udpTestGarbage(t), KindNotSTUN, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(c.port)))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
			defer cancel()
			x, _, err := Binding(ctx, conn, nil, Schedule{})
			if err != nil {
				t.Fatal(err)
			}
			if x.OK() || x.Kind != c.want {
				t.Fatalf("kind %q (err %v), want %q", x.Kind, x.Err, c.want)
			}
			if x.Elapsed > c.max {
				t.Errorf("took %v, want under %v", x.Elapsed, c.max)
			}
		})
	}
}

func TestTransactMaxSendsAndCancel(t *testing.T) {
	port := udpTestBlackhole(t)
	conn, err := DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	x, _, _ := Binding(context.Background(), conn, nil, Schedule{RTO: 20 * time.Millisecond, MaxSends: 2})
	if x.Sent != 2 || x.Kind != KindTimeout {
		t.Errorf("MaxSends 2: sent %d kind %q", x.Sent, x.Kind)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	x, _, _ = Binding(ctx, conn, nil, Schedule{})
	if x.Kind != KindCancelled || x.Elapsed > time.Second {
		t.Errorf("cancel: kind %q after %v", x.Kind, x.Elapsed)
	}
	if _, err := Transact(context.Background(), conn, nil, Schedule{}, udpBadSetter{}); err == nil {
		t.Error("an unbuildable request is misuse: want an error")
	}
}

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
		ctx, cancel := context.WithTimeout(context.Background(), turnAllocateBudget)
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
	udpNoLeak(t, r)
}

// udpBadSetter is a setter that cannot add itself: misuse.
type udpBadSetter struct{}

func (udpBadSetter) AddTo(*stun.Message) error { return stun.ErrAttributeSizeInvalid }
