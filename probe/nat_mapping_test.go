package probe

import (
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestNATMappingNoNAT(t *testing.T) {
	a := startUDPTestTURN(t, "agent", "pw")
	b := startUDPTestTURN(t, "agent", "pw")
	r := udpOne(t, natMapping, udpTestConfig(a.UDP, b.UDP))
	udpWant(t, r, Pass, "", []string{"no NAT", "relay-only", "calls work with either kind of NAT"}, nil)
	if r.Details["mapping"] != "none" || r.Details["mapped_address"] != r.Details["mapped_address_2"] {
		t.Errorf("details %v", r.Details)
	}
}

func TestNATMappingAddressDependent(t *testing.T) {
	// The second server reports another port, as a NAT that maps per
	// destination (symmetric) would.
	cfg := udpTestConfig(udpTestSTUN(t, 0, 0), udpTestSTUN(t, 0, 7))
	r := udpOne(t, natMapping, cfg)
	udpWant(t, r, Pass, "", []string{"address-and-port-dependent (symmetric) mapping", "per destination port", "calls work with either kind of NAT", "run out of ports", "capacity.streams"}, nil)
	if r.Details["mapping"] != "address-and-port-dependent" {
		t.Errorf("details %v", r.Details)
	}
}

func TestNATMappingSkips(t *testing.T) {
	srv := startUDPTestTURN(t, "agent", "pw")
	r := udpOne(t, natMapping, udpTestConfig(srv.UDP))
	udpWant(t, r, Skip, "", []string{"needs two TURN servers", "1 configured"}, nil)

	cfg := udpTestConfig(srv.UDP, udpTestBlackhole(t))
	cfg.Timeout = time.Second
	r = udpOne(t, natMapping, cfg)
	udpWant(t, r, Skip, result.PhaseBinding, []string{"fewer than two TURN servers answered", "stun.binding"}, nil)
}

func TestNATMappingEndpointIndependent(t *testing.T) {
	// Both servers report the same public port, unlike our socket's own:
	// a NAT that keeps one mapping per socket.
	cfg := udpTestConfig(udpTestSTUN(t, 0, 7), udpTestSTUN(t, 0, 7))
	r := udpOne(t, natMapping, cfg)
	udpWant(t, r, Pass, "", []string{"endpoint-independent mapping", "both see this computer as", "calls work with either kind of NAT"}, nil)
	if r.Details["mapping"] != "endpoint-independent" {
		t.Errorf("details %v", r.Details)
	}
}
