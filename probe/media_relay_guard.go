package probe

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"
)

// errNotTURN is returned when pion tries to reach anything but the TURN
// servers of the check: media.relay sends nothing anywhere else.
var errNotTURN = errors.New("media.relay only talks to its TURN servers")

// turnGuard is the network the relay-only PeerConnections of media.relay
// use (SettingEngine.SetNet). It resolves only the TURN servers' names, from
// answers the run's resolver already gave; it refuses to send to any other
// address; and it watches the STUN/TURN messages on the wire, so a failure
// is explained from what the server said (401 to an authenticated request =
// wrong credentials, 403, 486…) or did not say (nothing at all = dropped,
// ICMP port unreachable = refused), instead of pion's logs.
//
// Safe for concurrent use; both PeerConnections share one guard.
type turnGuard struct {
	transport.Net
	// hosts maps a TURN host name (or IP literal) to the address used.
	hosts map[string]netip.Addr
	// servers are the allowed destinations.
	servers map[netip.AddrPort]bool

	mu     sync.Mutex
	st     guardState
	authTx map[[stun.TransactionIDSize]byte]stun.Method
	first  firstAnswer // the round trip of the servers' first answer
	notify func()
}

// guardState is what the guard saw on the wire.
type guardState struct {
	Sent, Received int  // STUN/TURN messages to and from the servers
	Allocated      int  // successful Allocate responses
	CredsRejected  bool // 401 to a request that carried MESSAGE-INTEGRITY
	// LastError is the server's last error response, e.g. "CreatePermission 403 Forbidden";
	// LastCode its code.
	LastError string
	LastCode  int
	// SendErr/ReadErr are the first socket errors (refused, permission…).
	SendErr, ReadErr error
	// FirstRTT is the round trip of the first request the server
	// answered (0 before): what the set-up limit scales with.
	FirstRTT time.Duration
}

func newTURNGuard(base transport.Net, hosts map[string]netip.Addr, servers []netip.AddrPort, notify func()) *turnGuard {
	g := &turnGuard{Net: base, hosts: hosts, servers: map[netip.AddrPort]bool{}, authTx: map[[stun.TransactionIDSize]byte]stun.Method{}, notify: notify}
	for _, s := range servers {
		g.servers[s] = true
	}
	return g
}

func (g *turnGuard) state() guardState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st
}

func (g *turnGuard) resolve(network, address string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", address)
	}
	a, ok := g.hosts[host]
	if !ok {
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%s: %w", host, errNotTURN)
		}
	}
	a = a.Unmap()
	switch network {
	case "udp4", "tcp4":
		if !a.Is4() {
			return netip.AddrPort{}, fmt.Errorf("%s has no IPv4 address in this check", host)
		}
	case "udp6", "tcp6":
		if !a.Is6() {
			return netip.AddrPort{}, fmt.Errorf("%s has no IPv6 address in this check", host)
		}
	}
	ap := netip.AddrPortFrom(a, uint16(p))
	if !g.servers[ap] {
		return netip.AddrPort{}, fmt.Errorf("%s: %w", ap, errNotTURN)
	}
	return ap, nil
}

// ResolveUDPAddr answers only for the TURN servers, from the run's DNS answers.
func (g *turnGuard) ResolveUDPAddr(network, address string) (*net.UDPAddr, error) {
	ap, err := g.resolve(network, address)
	if err != nil {
		return nil, err
	}
	return net.UDPAddrFromAddrPort(ap), nil
}

// ResolveTCPAddr answers only for the TURN servers.
func (g *turnGuard) ResolveTCPAddr(network, address string) (*net.TCPAddr, error) {
	ap, err := g.resolve(network, address)
	if err != nil {
		return nil, err
	}
	return net.TCPAddrFromAddrPort(ap), nil
}

// ResolveIPAddr is refused: nothing in media.relay needs it.
func (g *turnGuard) ResolveIPAddr(network, address string) (*net.IPAddr, error) {
	return nil, errNotTURN
}

// Dial is refused except to a TURN server over TCP.
func (g *turnGuard) Dial(network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		if _, err := g.resolve(network, address); err != nil {
			return nil, err
		}
		return g.Net.Dial(network, address)
	}
	return nil, errNotTURN
}

// DialTCP is allowed only to a TURN server (turn:…?transport=tcp, turns:).
func (g *turnGuard) DialTCP(network string, laddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	if raddr == nil || !g.servers[raddr.AddrPort()] && !g.servers[netip.AddrPortFrom(raddr.AddrPort().Addr().Unmap(), raddr.AddrPort().Port())] {
		return nil, errNotTURN
	}
	c, err := g.Net.DialTCP(network, laddr, raddr)
	if err != nil {
		g.record(err, nil)
	}
	return c, err
}

// DialUDP is allowed only to a TURN server.
func (g *turnGuard) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	if raddr == nil || !g.servers[netip.AddrPortFrom(raddr.AddrPort().Addr().Unmap(), raddr.AddrPort().Port())] {
		return nil, errNotTURN
	}
	return g.Net.DialUDP(network, laddr, raddr)
}

// ListenPacket returns a socket that sends only to the TURN servers. With
// a single server of the socket's family the socket is connected to it, so
// an ICMP port unreachable comes back as "refused" instead of a timeout.
func (g *turnGuard) ListenPacket(network, address string) (net.PacketConn, error) {
	var only []netip.AddrPort
	for s := range g.servers {
		if (network == "udp4" && s.Addr().Is4()) || (network == "udp6" && s.Addr().Is6()) || network == "udp" {
			only = append(only, s)
		}
	}
	if len(only) == 1 {
		c, err := net.DialUDP(network, nil, net.UDPAddrFromAddrPort(only[0]))
		if err != nil {
			g.record(err, nil)
			return nil, err
		}
		return &guardConn{g: g, conn: c, peer: only[0]}, nil
	}
	pc, err := g.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return &guardConn{g: g, pc: pc}, nil
}

// ListenUDP is refused: relay-only PeerConnections need no other socket.
func (g *turnGuard) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	return nil, errNotTURN
}

// ListenTCP is refused: relay-only PeerConnections accept nothing.
func (g *turnGuard) ListenTCP(network string, laddr *net.TCPAddr) (transport.TCPListener, error) {
	return nil, errNotTURN
}

// record notes a socket error (write when w is non-nil).
func (g *turnGuard) record(err error, w *bool) {
	g.mu.Lock()
	if w != nil && *w {
		if g.st.SendErr == nil {
			g.st.SendErr = err
		}
	} else if g.st.ReadErr == nil {
		g.st.ReadErr = err
	}
	g.mu.Unlock()
	g.ping()
}

func (g *turnGuard) ping() {
	if g.notify != nil {
		g.notify()
	}
}

// observe parses a STUN message to or from a TURN server.
func (g *turnGuard) observe(b []byte, out bool) {
	if !stun.IsMessage(b) {
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if out {
		g.st.Sent++
		g.first.sent(m)
		if m.Type.Class == stun.ClassRequest && m.Contains(stun.AttrMessageIntegrity) {
			if len(g.authTx) > 256 { // bounded: only recent transactions matter
				clear(g.authTx)
			}
			g.authTx[m.TransactionID] = m.Type.Method
		}
		return
	}
	g.st.Received++
	if g.first.answered(m) {
		g.st.FirstRTT = g.first.rtt
		defer g.ping()
	}
	switch m.Type.Class {
	case stun.ClassSuccessResponse:
		if m.Type.Method == stun.MethodAllocate {
			g.st.Allocated++
		}
	case stun.ClassErrorResponse:
		var ec stun.ErrorCodeAttribute
		if ec.GetFrom(m) != nil {
			return
		}
		_, authed := g.authTx[m.TransactionID]
		if ec.Code == stun.CodeUnauthorized && !authed {
			return // the normal first challenge
		}
		if ec.Code == stun.CodeUnauthorized {
			g.st.CredsRejected = true
		}
		if ec.Code == stun.CodeStaleNonce {
			return // the client retries with the new nonce
		}
		g.st.LastError = fmt.Sprintf("%s %d %s", m.Type.Method, ec.Code, plainReason(string(ec.Reason)))
		g.st.LastCode = int(ec.Code)
		defer g.ping()
	}
}

// guardConn is a UDP socket of media.relay: either connected to its one
// TURN server (conn) or unconnected but checked on every send (pc).
type guardConn struct {
	g    *turnGuard
	conn *net.UDPConn
	peer netip.AddrPort
	pc   net.PacketConn
}

func (c *guardConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		var (
			n    int
			from net.Addr
			err  error
		)
		if c.conn != nil {
			n, err = c.conn.Read(b)
			from = net.UDPAddrFromAddrPort(c.peer)
		} else {
			n, from, err = c.pc.ReadFrom(b)
		}
		if err != nil {
			if k := Classify(err); k == KindRefused || k == KindUnreachable || k == KindPermission {
				// An ICMP error on a connected socket: note it and keep
				// reading, so pion's read loop survives a stray one.
				c.g.record(err, nil)
				continue
			}
			return n, from, err
		}
		c.g.observe(b[:n], false)
		return n, from, nil
	}
}

func (c *guardConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errNotTURN
	}
	ap := netip.AddrPortFrom(ua.AddrPort().Addr().Unmap(), ua.AddrPort().Port())
	if !c.g.servers[ap] {
		return 0, fmt.Errorf("%s: %w", ap, errNotTURN)
	}
	c.g.observe(b, true)
	var (
		n   int
		err error
	)
	if c.conn != nil {
		if ap != c.peer {
			return 0, errNotTURN
		}
		n, err = c.conn.Write(b)
	} else {
		n, err = c.pc.WriteTo(b, addr)
	}
	if err != nil {
		w := true
		c.g.record(err, &w)
	}
	return n, err
}

func (c *guardConn) Close() error {
	if c.conn != nil {
		return c.conn.Close()
	}
	return c.pc.Close()
}

func (c *guardConn) LocalAddr() net.Addr {
	if c.conn != nil {
		return c.conn.LocalAddr()
	}
	return c.pc.LocalAddr()
}

func (c *guardConn) SetDeadline(t time.Time) error {
	if c.conn != nil {
		return c.conn.SetDeadline(t)
	}
	return c.pc.SetDeadline(t)
}

func (c *guardConn) SetReadDeadline(t time.Time) error {
	if c.conn != nil {
		return c.conn.SetReadDeadline(t)
	}
	return c.pc.SetReadDeadline(t)
}

func (c *guardConn) SetWriteDeadline(t time.Time) error {
	if c.conn != nil {
		return c.conn.SetWriteDeadline(t)
	}
	return c.pc.SetWriteDeadline(t)
}
