// turn.allocate's relay round trip: the test peer and the data sent
// through the relay to it and back (see turn_allocate.go).

package probe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// turnDataResult is what the data loop saw.
type turnDataResult struct {
	rtt                time.Duration
	peerGot, clientGot bool
}

// turnDataLoop sends numbered datagrams through the relay to the peer,
// every turnDataInterval, until one comes back echoed or ctx ends.
func turnDataLoop(ctx context.Context, relayConn net.PacketConn, peer *net.UDPConn, relayed, peerAddr netip.AddrPort) turnDataResult {
	var (
		mu     sync.Mutex
		res    turnDataResult
		seenAt *net.UDPAddr // the peer as the relay saw it (guarded by mu)
	)
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	relayUDP := net.UDPAddrFromAddrPort(relayed)
	// Wake the readers at once when done.
	wake := context.AfterFunc(dctx, func() {
		now := time.Now()
		_ = peer.SetReadDeadline(now)
		_ = relayConn.SetReadDeadline(now)
	})
	defer wake()
	var wg sync.WaitGroup
	// Peer: punch toward the relay, then echo what comes from it.
	wg.Go(func() {
		_, _ = peer.WriteTo([]byte("ccp-preflight punch"), relayUDP)
		buf := make([]byte, 2048)
		for dctx.Err() == nil {
			_ = peer.SetReadDeadline(time.Now().Add(turnDataInterval))
			n, from, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil {
				if Classify(err) == KindTimeout {
					_, _ = peer.WriteTo([]byte("ccp-preflight punch"), relayUDP)
					continue
				}
				return
			}
			if from.Addr().Unmap() != relayed.Addr().Unmap() || from.Port() != relayed.Port() {
				continue
			}
			mu.Lock()
			res.peerGot = true
			mu.Unlock()
			_, _ = peer.WriteTo(buf[:n], relayUDP)
		}
	})
	// Client: read what the relay forwards.
	sent := map[string]time.Time{}
	got := make(chan time.Duration, 1)
	wg.Go(func() {
		buf := make([]byte, 2048)
		for dctx.Err() == nil {
			_ = relayConn.SetReadDeadline(time.Now().Add(turnDataInterval))
			n, from, err := relayConn.ReadFrom(buf)
			if err != nil {
				if Classify(err) == KindTimeout {
					continue
				}
				return
			}
			msg := string(buf[:n])
			mu.Lock()
			if strings.HasPrefix(msg, "ccp-preflight punch") {
				res.clientGot = true
				// Answer the address the relay saw the peer at: behind an
				// address-dependent NAT it differs from the STUN-mapped one.
				if ua, ok := from.(*net.UDPAddr); ok {
					seenAt = ua
				}
			} else if t0, ok := sent[msg]; ok {
				mu.Unlock()
				select {
				case got <- time.Since(t0):
				default:
				}
				cancel()
				return
			}
			mu.Unlock()
		}
	})
	peerUDP := net.UDPAddrFromAddrPort(peerAddr)
	tick := time.NewTicker(turnDataInterval)
	defer tick.Stop()
	payload := bytes.Repeat([]byte{'x'}, 120) // an Opus frame's size
	for i := 0; dctx.Err() == nil; i++ {
		msg := fmt.Sprintf("ccp-preflight data %d ", i) + string(payload)
		mu.Lock()
		sent[msg] = time.Now()
		to := peerUDP
		if seenAt != nil {
			to = seenAt
		}
		mu.Unlock()
		if _, err := relayConn.WriteTo([]byte(msg), to); err != nil && dctx.Err() == nil {
			break
		}
		select {
		case <-dctx.Done():
		case <-tick.C:
		}
	}
	cancel()
	wg.Wait()
	select {
	case d := <-got:
		res.rtt = d
	default:
	}
	return res
}

// turnPeer opens the test peer's UDP socket on the address this computer
// uses toward the TURN server, and in the background learns its public
// address with a STUN Binding to the server's UDP port (for tcp/turns:
// URLs, UDP 3478 of the same host); without an answer, or for a server on
// a loopback or private address (no NAT in between), the local address.
func turnPeer(ctx context.Context, server netip.AddrPort, t Target) (*net.UDPConn, <-chan netip.AddrPort, error) {
	local := netip.IPv4Unspecified()
	if !server.Addr().Is4() {
		local = netip.IPv6Unspecified()
	}
	if probe, err := net.DialUDP(udpNetwork(server), nil, net.UDPAddrFromAddrPort(server)); err == nil {
		if la, err := netip.ParseAddrPort(probe.LocalAddr().String()); err == nil {
			local = la.Addr()
		}
		_ = probe.Close()
	}
	peer, err := net.ListenUDP(udpNetwork(server), net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		return nil, nil, err
	}
	own, _ := netip.ParseAddrPort(peer.LocalAddr().String())
	out := make(chan netip.AddrPort, 1)
	stunAddr := server
	if t.URL.Transport != "udp" || t.URL.Secure {
		stunAddr = netip.AddrPortFrom(server.Addr(), 3478)
	}
	if a := server.Addr(); a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() {
		// No NAT between us and a server on our own network: the relay
		// reaches the peer at its local address.
		out <- own
		return peer, out, nil
	}
	go func() {
		bctx, cancel := context.WithTimeout(ctx, turnPeerBindingTimeout)
		defer cancel()
		x, mapped, err := Binding(bctx, peer, net.UDPAddrFromAddrPort(stunAddr), Schedule{})
		if err == nil && x.OK() && mapped.IsValid() {
			out <- mapped
			return
		}
		out <- own
	}()
	return peer, out, nil
}
