// path.large-datagram's measurement: the largest UDP datagram that passes
// to a TURN server (upstream) and from it (downstream), each on its own,
// and what a browser's DTLS handshake needs in each role. media.relay
// grades with the same measurement (one per TURN server and run: Env's
// memo), so it never passes a path on which a browser's handshake stalls.

package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
)

// What a browser's DTLS handshake puts in one UDP datagram to the TURN
// server (measured with Debian Chromium 156 through coturn, docs/UDP-CHECKS.md):
// as DTLS client its ClientHello is one 1236-byte datagram; as DTLS server
// its largest is 680 bytes. Through TURN each rides in a Send indication,
// 36 bytes more (STUN header 20, XOR-PEER-ADDRESS 12, DATA header 4).
const (
	browserClientHelloBytes  = 1236
	browserServerFlightBytes = 680
	turnSendOverhead         = 36
	// NeedUpClient and NeedUpServer are the UDP payloads to the TURN
	// port that must pass upstream for the browser's handshake as DTLS
	// client and as DTLS server.
	NeedUpClient = browserClientHelloBytes + turnSendOverhead  // 1272
	NeedUpServer = browserServerFlightBytes + turnSendOverhead // 716
	// NeedDown is what must pass downstream for the media server's own
	// flight: AWS does not publish the size of Connect's media server's
	// handshake datagrams, so the stand-in is a DTLS stack that fragments
	// at 1200 bytes (pion's and most stacks' default) inside a Data
	// indication: 1236. Below it the verdict is a warning, not a failure,
	// unless even a browser-sized server flight (NeedUpServer) would not pass.
	NeedDown = 1200 + turnSendOverhead
)

// sizeLadder are the UDP payload sizes tried, each in its own datagram,
// from the IPv4 minimum reassembly size (576) to a full Ethernet frame
// (1472): the handshake needs are among them, so the largest that passes
// says exactly which handshakes can pass.
var sizeLadder = []int{576, NeedUpServer, 900, 1100, 1200, NeedDown, NeedUpClient, 1400, 1472}

// datagramSizes is one TURN server's measurement.
type datagramSizes struct {
	// Small is the control: a small Binding was answered.
	Small    bool
	SmallRTT time.Duration
	SmallX   Exchange
	// Up is the largest UDP payload (bytes) answered upstream; 0 when none
	// of the ladder was. UpErr is the large sends' error kind, if any.
	Up    int
	UpX   Exchange // the first ladder size that got no answer
	UpErr error
	// Down is the largest datagram that arrived from the server (UDP
	// payload as on the wire), when DownWhy is "".
	Down int
	// DownWhy says why downstream was not measured (no credentials for
	// this server, no data through the relay…).
	DownWhy string
	// DownDetail is raw detail for Details (a library error), or "".
	DownDetail string
}

// sizeGradeMargin is kept between the end of the measurement and the end
// of the caller's budget, to grade and return.
const sizeGradeMargin = 100 * time.Millisecond

// sizeMemo is Env's memo of the measurements: one per server address and
// run, shared by path.large-datagram and media.relay.
type sizeMemo struct {
	mu sync.Mutex
	m  map[netip.AddrPort]*sizeEntry
}

type sizeEntry struct {
	done chan struct{}
	v    datagramSizes
}

// datagramSizesFor measures addr once per run (the first caller runs it
// under its ctx; later callers wait for that result or their own ctx).
func (e *Env) datagramSizesFor(ctx context.Context, addr netip.AddrPort, host string) (datagramSizes, bool) {
	e.sizes.mu.Lock()
	if e.sizes.m == nil {
		e.sizes.m = map[netip.AddrPort]*sizeEntry{}
	}
	en, ok := e.sizes.m[addr]
	if !ok {
		en = &sizeEntry{done: make(chan struct{})}
		e.sizes.m[addr] = en
	}
	e.sizes.mu.Unlock()
	if !ok {
		// Stop measuring a little before ctx ends, so the result (sizes
		// that never got an answer are the finding) is graded in time.
		mctx, cancel := context.WithCancel(ctx)
		if dl, ok := ctx.Deadline(); ok {
			mctx, cancel = context.WithDeadline(ctx, dl.Add(-sizeGradeMargin))
		}
		en.v = measureSizes(mctx, e.Cfg, addr, host)
		cancel()
		close(en.done)
		// Measured: graded even if ctx ended meanwhile (a loaded machine
		// can overrun the margin; sizes that never answered are the
		// finding, not a cancellation).
		return en.v, true
	}
	select {
	case <-en.done:
		return en.v, true
	case <-ctx.Done():
		select { // both ready: the measurement wins
		case <-en.done:
			return en.v, true
		default:
			return datagramSizes{}, false
		}
	}
}

// measureSizes runs the upstream and (with credentials for host) the
// downstream measurement at once, within ctx.
//
// Every socket is opened on the calling goroutine (a test may have locked it
// into a network namespace), then used from others.
func measureSizes(ctx context.Context, cfg *config.Config, addr netip.AddrPort, host string) datagramSizes {
	var v datagramSizes
	var wg sync.WaitGroup
	var down int
	var why, detail string
	ds, why, detail := openDown(ctx, cfg, addr, host)
	if ds != nil {
		wg.Go(func() { down, why, detail = ds.run(ctx) })
	}
	measureUp(ctx, addr, &v)
	wg.Wait()
	v.Down, v.DownWhy, v.DownDetail = down, why, detail
	return v
}

// measureUp sends a small Binding and one Binding per ladder size, each
// on its own socket and retransmitted on the default schedule, until each
// is answered or ctx ends (a size smaller than one answered stops at once).
func measureUp(ctx context.Context, addr netip.AddrPort, v *datagramSizes) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type one struct {
		size   int
		x      Exchange
		cancel context.CancelFunc
	}
	sizes := append([]int{0}, sizeLadder...)
	outs := make([]*one, len(sizes))
	var mu sync.Mutex
	largest := 0
	var wg sync.WaitGroup
	// Sockets and contexts first (on this goroutine: a test may have
	// locked it into a network namespace), then one sender each.
	conns := make([]*net.UDPConn, len(sizes))
	ctxs := make([]context.Context, len(sizes))
	for i, n := range sizes {
		o := &one{size: n}
		outs[i] = o
		conn, err := DialUDP(ctx, addr)
		if err != nil {
			o.x = Exchange{Err: err, Kind: Classify(err)}
			continue
		}
		conns[i] = conn
		ctxs[i], o.cancel = context.WithCancel(ctx)
	}
	for i, n := range sizes {
		conn, o := conns[i], outs[i]
		if conn == nil {
			continue
		}
		octx := ctxs[i]
		wg.Go(func() {
			defer o.cancel()
			defer conn.Close()
			var x Exchange
			if n == 0 {
				x, _, _ = Binding(octx, conn, nil, Schedule{})
			} else {
				x, _, _ = Binding(octx, conn, nil, Schedule{}, Padding(n-stunOverhead))
			}
			mu.Lock()
			o.x = x
			if x.Success() && n > largest {
				largest = n
				// Smaller sizes are known to pass: stop waiting for them.
				for _, p := range outs {
					if p.size > 0 && p.size < n && p.cancel != nil {
						p.cancel()
					}
				}
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	v.SmallX = outs[0].x
	v.Small = outs[0].x.Success()
	v.SmallRTT = outs[0].x.RTT
	v.Up = largest
	for _, o := range outs[1:] {
		if o.size > largest && !o.x.Success() {
			v.UpX = o.x
			v.UpErr = o.x.Err
			break
		}
	}
}

// downInterval is how often the test peer resends the ladder toward the
// relay until every size arrived or the budget ends.
const downInterval = 100 * time.Millisecond

// measureDown allocates a relay on addr with the credentials of an ICE
// server entry for host (UDP), has a second socket of ours (the peer) send
// one datagram of each ladder size to the relayed address, and records the
// largest datagram the server delivered to us on the TURN port: the
// downstream leg on its own (the peer's datagrams go to the relay's port,
// not the TURN port). Without credentials it returns why not.
// downSockets are measureDown's sockets, opened on the caller's goroutine.
type downSockets struct {
	cfg      *config.Config
	addr     netip.AddrPort
	ice      *config.ICEServer
	pc       *net.UDPConn
	peer     *net.UDPConn
	peerAddr <-chan netip.AddrPort
}

// openDown opens the TURN client's and the peer's sockets, or says why
// downstream cannot be measured (nil).
func openDown(ctx context.Context, cfg *config.Config, addr netip.AddrPort, host string) (*downSockets, string, string) {
	ice := iceFor(cfg, host, addr)
	if ice == nil {
		return nil, "needs TURN credentials for this server (--ice-servers FILE): the server is asked to send large datagrams only through a relay", ""
	}
	pc, err := net.ListenUDP(udpNetwork(addr), nil)
	if err != nil {
		return nil, "could not open a UDP socket", err.Error()
	}
	peer, peerAddr, err := turnPeer(ctx, addr, Target{URL: config.TURNURL{Transport: "udp"}})
	if err != nil {
		_ = pc.Close()
		return nil, "could not open the test peer's socket", err.Error()
	}
	return &downSockets{cfg: cfg, addr: addr, ice: ice, pc: pc, peer: peer, peerAddr: peerAddr}, "", ""
}

// run allocates a relay with the credentials of an ICE server entry for
// the host (UDP), has the peer socket send one datagram of each ladder
// size to the relayed address, and records the largest datagram the
// server delivered to us on the TURN port: the downstream leg on its own
// (the peer's datagrams go to the relay's port, not the TURN port). It
// closes every socket before it returns.
func (d *downSockets) run(ctx context.Context) (int, string, string) {
	addr, ice, pc, peer, peerAddr := d.addr, d.ice, d.pc, d.peer, d.peerAddr
	wire := &sizeConn{PacketConn: pc, from: addr}
	var owned closeStack
	owned.Add(func() { _ = pc.Close() })
	owned.Add(func() { _ = peer.Close() })
	defer owned.Close()
	stop := owned.CloseOnDone(ctx)
	defer stop()

	client, err := startTURNClient(addr, ice, wire, &owned)
	if err != nil {
		return 0, "could not start a TURN client", scrub(err.Error(), ice)
	}
	relayConn, err := client.AllocateWithContext(ctx)
	if err != nil {
		return 0, "no relay allocation (see turn.allocate)", scrub(err.Error(), ice)
	}
	owned.Add(func() { _ = relayConn.Close() })
	relayed, _ := netip.ParseAddrPort(relayConn.LocalAddr().String())
	var pa netip.AddrPort
	select {
	case pa = <-peerAddr:
	case <-ctx.Done():
		return 0, "ran out of time before the relay test", ""
	}
	// Open the permission (and the peer's NAT) with a small datagram each way.
	_, _ = relayConn.WriteTo([]byte("ccp-preflight size"), net.UDPAddrFromAddrPort(pa))
	got := map[int]bool{}
	var gmu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := relayConn.ReadFrom(buf)
			if err != nil {
				return
			}
			gmu.Lock()
			got[n] = true
			gmu.Unlock()
		}
	})
	relayUDP := net.UDPAddrFromAddrPort(relayed)
	tick := time.NewTicker(downInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		_, _ = relayConn.WriteTo([]byte("ccp-preflight size"), net.UDPAddrFromAddrPort(pa))
		for _, n := range sizeLadder {
			_, _ = peer.WriteTo(make([]byte, n-turnSendOverhead), relayUDP)
		}
		gmu.Lock()
		all := len(got) >= len(sizeLadder)
		gmu.Unlock()
		if all {
			break
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	owned.Close()
	wg.Wait()
	gmu.Lock()
	defer gmu.Unlock()
	if len(got) == 0 {
		return 0, fmt.Sprintf("no data came back through the relay (%s): a firewall may block UDP from this computer to the relay's ports, which calls do not need", relayed), ""
	}
	return wire.maxData(), "", ""
}

// iceFor is the first ICE server entry with a UDP turn: URL for host (or
// for addr's address), or nil.
func iceFor(cfg *config.Config, host string, addr netip.AddrPort) *config.ICEServer {
	for i := range cfg.ICEServers {
		for _, raw := range cfg.ICEServers[i].URLs {
			u, err := config.ParseTURNURL(raw)
			if err != nil || u.Secure || u.Transport != "udp" || u.Port != int(addr.Port()) {
				continue
			}
			if u.Host == host || u.Host == addr.Addr().String() {
				return &cfg.ICEServers[i]
			}
		}
	}
	return nil
}

// sizeConn is the TURN client's socket: it records the size of every
// datagram from the server that carries relayed data (a Data indication
// or ChannelData), as it was on the wire.
type sizeConn struct {
	net.PacketConn
	from netip.AddrPort
	mu   sync.Mutex
	max  int
}

func (c *sizeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(b)
	if err == nil && n > 0 && isRelayedData(b[:n]) {
		c.mu.Lock()
		c.max = max(c.max, n)
		c.mu.Unlock()
	}
	return n, a, err
}

func (c *sizeConn) maxData() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}

// isRelayedData: ChannelData (first two bits 01) or a STUN Data
// indication (type 0x0017).
func isRelayedData(b []byte) bool {
	if len(b) >= 4 && b[0]&0xC0 == 0x40 {
		return true
	}
	return len(b) >= 20 && b[0] == 0x00 && b[1] == 0x17
}
