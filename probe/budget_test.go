package probe

import (
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// TestBudgetsFit proves every probe's budget fits inside the run's deadline
// for the default config, and that each connectivity probe's inner time
// limits add up to no more than its own budget.
func TestBudgetsFit(t *testing.T) {
	cfg, err := config.Build(nil, config.Overrides{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	probes := Registry()
	browser := *cfg
	browser.Browser = config.Browser{Enabled: true, Timeout: config.DefaultBrowserTimeout}
	for _, c := range []*config.Config{cfg, &browser} {
		deadline := Deadline(c, probes)
		for _, p := range probes {
			if !p.runs(c) { // not asked (browser.* without --browser): not in the run
				continue
			}
			if b := p.Budget(c); b <= 0 || b+runGrace > deadline {
				t.Errorf("%s: budget %v does not fit the run deadline %v (grace %v)", p.ID, b, deadline, runGrace)
			}
		}
	}
	// The page's session waits browserWait; each browser check reads its
	// answer within its budget.
	if w, b := browserWait(&browser), browserBudget(&browser); w >= b {
		t.Errorf("browser session waits %v, the checks' budget is %v", w, b)
	}
	mine := map[string]time.Duration{
		"dns.resolve":       resolveTimeout,
		"ranges.membership": resolveTimeout,
		"tcp.connect":       resolveTimeout + connectTimeout,
		"tls.handshake":     resolveTimeout + connectTimeout + tlsAnswerWait,
		"env.proxy":         sysproxy.DefaultPACTime, // one PAC evaluation, its dnsResolve lookups included
	}
	for _, p := range probes {
		inner, ok := mine[p.ID]
		if !ok {
			continue
		}
		b := p.Budget(cfg)
		if inner > b {
			t.Errorf("%s: inner limits %v exceed its budget %v", p.ID, inner, b)
		}
		// tls.handshake waits for a server that accepted TCP as long as
		// the CCP does (tlsAnswerWait), beyond --timeout; its connect
		// part stays inside it.
		if b > config.DefaultTimeout && (p.ID != "tls.handshake" || b-tlsAnswerWait > config.DefaultTimeout) {
			t.Errorf("%s: budget %v exceeds the default --timeout %v", p.ID, b, config.DefaultTimeout)
		}
	}
	// Through a proxy: proxy connect + CONNECT answer fit tcp.connect too.
	if connectTimeout+proxyConnectTimeout > tcpBudget {
		t.Errorf("proxy path %v exceeds tcp budget %v", connectTimeout+proxyConnectTimeout, tcpBudget)
	}
	if resolveTimeout < dnsAttemptTimeout*dnsAttempts {
		t.Errorf("resolveTimeout %v leaves no room for %d attempts of %v", resolveTimeout, dnsAttempts, dnsAttemptTimeout)
	}
	// A shorter --timeout caps my budgets.
	cfg.Timeout = time.Second
	for _, p := range probes {
		limit := time.Second
		if p.ID == "tls.handshake" {
			limit += tlsAnswerWait
		}
		if _, ok := mine[p.ID]; ok && p.Budget(cfg) > limit {
			t.Errorf("%s: budget %v ignores --timeout 1s", p.ID, p.Budget(cfg))
		}
	}
	// The answer wait is the CCP's own: its signaling WebSocket gives up
	// after 10 s (docs/CONNECT.md), so waiting less would fail servers the
	// CCP still reaches.
	if tlsAnswerWait < 10*time.Second {
		t.Errorf("tlsAnswerWait %v is shorter than the CCP's 10 s", tlsAnswerWait)
	}
}

// TestUDPBudgetsFit proves the budgets keep the blackholed verdict within
// the 3.5 s target and still leave room for retransmissions.
func TestUDPBudgetsFit(t *testing.T) {
	const target = 3500 * time.Millisecond
	cfg := udpTestConfig(3478, 3479)
	cfg.Timeout = 5 * time.Second // the default --timeout
	// turn.allocate's budget is the most a slow path that answers may
	// take (the CCP's ICE limit); a silent server gets silentLimit, which
	// is what a blackholed path waits for.
	for _, p := range udpProbes() {
		b := p.Budget(cfg)
		if p.ID == turnAllocate.ID {
			if b != relayICELimit {
				t.Errorf("%s budget %v, want the CCP's ICE limit %v", p.ID, b, relayICELimit)
			}
			b = pathScaledLimit(cfg, 0, turnAllocateRounds)
		}
		if b > target-runGrace {
			t.Errorf("%s: a silent server waits %v, which leaves no grace within %v", p.ID, b, target)
		}
	}
	// The default schedule fits at least 4 transmissions in the budget.
	s := Schedule{}.withDefaults()
	at, wait, n := time.Duration(0), s.RTO, 0
	for at < udpProbeBudget {
		n++
		at += wait
		wait = min(2*wait, s.MaxRTO)
	}
	if n < 4 {
		t.Errorf("%d transmissions fit in %v, want ≥ 4", n, udpProbeBudget)
	}
	// --timeout shorter than the budget wins.
	cfg.Timeout = time.Second
	if udpBudget(cfg) != time.Second || pathScaledLimit(cfg, 0, turnAllocateRounds) != time.Second {
		t.Errorf("a 1 s --timeout must bound the UDP budgets")
	}
}
