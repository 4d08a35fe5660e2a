package probe

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/pion/turn/v5"
)

// TestTURNAllocateRelayedAddressSilent (issue #15 item 10): a real
// pion/turn server that relays from 127.0.0.1 but gives out 127.0.0.3 as
// the relayed address (nothing answers there): the allocation works, no
// data moves, and the cause may well be the server, so the result must not
// claim that "a firewall or NAT here blocks UDP" as a fact. Before the fix
// it did.
func TestTURNAllocateRelayedAddressSilent(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := lab.TURNServerConfig(lab.TURNOptions{Realm: udpTestRealm, Username: udpTestUser, Password: udpTestPass})
	cfg.PacketConnConfigs = []turn.PacketConnConfig{{PacketConn: pc,
		RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 3), Address: "127.0.0.1"}}}
	s, err := turn.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	port := pc.LocalAddr().(*net.UDPAddr).Port
	r := udpOne(t, turnAllocate, udpTestICE(udpTestUser, udpTestPass, fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port)))
	udpWant(t, r, Warn, result.PhaseRelay,
		[]string{"relayed address 127.0.0.3:", "exchanged no data in either direction", "does not answer from here", "or a firewall or NAT here blocks UDP"},
		[]string{"check the TURN server's relayed addresses"})
	if strings.Contains(r.Reason, ": a firewall or NAT here blocks UDP") {
		t.Errorf("reason states a firewall here as the cause: %q", r.Reason)
	}
	udpNoSecret(t, r)
}

// TestSilentRelayPrivateAddress: a server on a public address handing out
// a private relayed address is the server's fault, said plainly.
func TestSilentRelayPrivateAddress(t *testing.T) {
	reason, remedy := silentRelay(netip.MustParseAddrPort("10.1.2.3:50000"), netip.MustParseAddrPort("198.51.100.7:4000"), netip.MustParseAddrPort("15.193.6.10:3478"))
	if !strings.Contains(reason, "gave out the relayed address 10.1.2.3:50000, which cannot be reached from the internet") || !strings.Contains(remedy, "nothing to change on this network") {
		t.Errorf("reason %q remedy %q", reason, remedy)
	}
	reason, _ = silentRelay(netip.MustParseAddrPort("15.193.6.20:50000"), netip.MustParseAddrPort("198.51.100.7:4000"), netip.MustParseAddrPort("15.193.6.10:3478"))
	if !strings.Contains(reason, "either that address does not answer from here") {
		t.Errorf("public relayed address: %q", reason)
	}
}
