package probe_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ccp-preflight/ccp-preflight/probe"
)

// A STUN Binding with our own retransmit schedule, bounded by the context,
// with the failure classified.
func ExampleBinding() {
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	server := netip.MustParseAddrPort("192.0.2.10:3478") // a TURN server
	conn, err := probe.DialUDP(ctx, server)              // connected: ICMP refused is seen
	if err != nil {
		fmt.Println("socket:", probe.Classify(err))
		return
	}
	defer conn.Close()
	x, mapped, err := probe.Binding(ctx, conn, nil, probe.Schedule{RTO: 250 * time.Millisecond})
	switch {
	case err != nil:
		fmt.Println("misuse:", err)
	case !x.OK():
		// timeout (silent drop), permission (local firewall, at once),
		// refused (ICMP port unreachable), not-stun (junk answers)
		fmt.Println("failed:", x.Kind, "after", x.Sent, "transmissions")
	default:
		fmt.Println("public address", mapped, "rtt", x.RTT)
	}
}
