package probe

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestTURNGuardRefusesOtherDestinations(t *testing.T) {
	turnAddr := netip.MustParseAddrPort("127.0.0.1:3478")
	g := newTURNGuard(nil, map[string]netip.Addr{"turn.example": turnAddr.Addr()}, []netip.AddrPort{turnAddr}, nil)
	if a, err := g.ResolveUDPAddr("udp4", "turn.example:3478"); err != nil || a.String() != "127.0.0.1:3478" {
		t.Fatalf("TURN name: %v %v", a, err)
	}
	for _, addr := range []string{"other.example:3478", "127.0.0.1:3479", "127.0.0.2:3478"} {
		if _, err := g.ResolveUDPAddr("udp4", addr); !errors.Is(err, errNotTURN) {
			t.Errorf("%s: err %v, want errNotTURN", addr, err)
		}
	}
	if _, err := g.ResolveUDPAddr("udp6", "turn.example:3478"); err == nil {
		t.Error("udp6 for an IPv4-only TURN server must fail")
	}
	c, err := g.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 3478}); !errors.Is(err, errNotTURN) {
		t.Errorf("write elsewhere: %v, want errNotTURN", err)
	}
	if _, err := g.ListenUDP("udp4", nil); !errors.Is(err, errNotTURN) {
		t.Errorf("ListenUDP: %v", err)
	}
}
