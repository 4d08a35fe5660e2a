package probe

import (
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// TestUDPBudgetsFit proves the budgets keep the blackholed verdict within
// the 3.5 s target and still leave room for retransmissions.
func TestUDPBudgetsFit(t *testing.T) {
	const target = 3500 * time.Millisecond
	cfg := udpTestConfig(3478, 3479)
	cfg.Timeout = 5 * time.Second // the default --timeout
	if d := Deadline(cfg, udpProbes()); d > target {
		t.Errorf("deadline of the UDP/TURN checks %v, want ≤ %v", d, target)
	}
	for _, p := range udpProbes() {
		if b := p.Budget(cfg); b > target-runGrace {
			t.Errorf("%s budget %v leaves no grace within %v", p.ID, b, target)
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
	if udpBudget(cfg) != time.Second || turnAllocate.Budget(cfg) != time.Second {
		t.Errorf("a 1 s --timeout must bound the UDP budgets")
	}
}

// FuzzMappedAddress feeds arbitrary datagrams through the decoding a STUN
// response gets: it must never panic.
func FuzzMappedAddress(f *testing.F) {
	ok := stun.MustBuild(stun.TransactionID, stun.BindingSuccess, &stun.XORMappedAddress{IP: []byte{192, 0, 2, 1}, Port: 5000}, stun.Fingerprint)
	f.Add(ok.Raw)
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !stun.IsMessage(b) {
			return
		}
		m := &stun.Message{Raw: append([]byte(nil), b...)}
		if m.Decode() != nil {
			return
		}
		_, _ = MappedAddress(m)
		x := Exchange{Response: m}
		_, _ = x.ErrorCode()
	})
}
