package probe

// The shared UDP STUN transaction: one request, our own retransmit
// schedule bounded by the context, the answer matched by transaction id,
// the round-trip time, and a classified failure. stun.binding,
// turn.auth-challenge, path.large-datagram and nat.mapping use it; the
// media measurements reuse it.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pion/stun/v4"
)

// Retransmit schedule defaults. pion's clients wait 200 ms then double for
// 7 tries (~8 s, and ~39 s for RFC 8489's 500 ms RTO): far longer than a
// preflight may take. A healthy path answers in one RTT (under 400 ms even
// across an ocean), so 250 ms, 500 ms, 1 s, 1 s… gives 4 transmissions in
// the first 2.75 s and rides out 3 lost datagrams without waiting past the
// probe budget.
const (
	DefaultRTO    = 250 * time.Millisecond
	DefaultMaxRTO = time.Second
)

// KindNotSTUN is a failure kind of the STUN transaction: something answered
// on the port, but not with a STUN response to our request (another service
// on the port, or a middlebox answering for it).
const KindNotSTUN Kind = "not-stun"

// Schedule is a retransmit schedule. The zero value means DefaultRTO
// doubling up to DefaultMaxRTO, until the context ends.
type Schedule struct {
	// RTO is the wait after the first transmission; each later wait doubles.
	RTO time.Duration
	// MaxRTO caps the wait between transmissions.
	MaxRTO time.Duration
	// MaxSends bounds the transmissions (0: until the context ends).
	MaxSends int
}

func (s Schedule) withDefaults() Schedule {
	if s.RTO <= 0 {
		s.RTO = DefaultRTO
	}
	if s.MaxRTO < s.RTO {
		s.MaxRTO = max(DefaultMaxRTO, s.RTO)
	}
	return s
}

// Exchange is the outcome of one STUN transaction.
type Exchange struct {
	// Response is the STUN response (success or error class) whose
	// transaction id matched one of ours; nil when none came.
	Response *stun.Message
	// From is where the response came from.
	From net.Addr
	// RTT is the time from the transmission the response answers to the
	// response: exact, because every transmission has its own id.
	RTT time.Duration
	// Sent counts transmissions; NotSTUN counts datagrams received that were
	// not a STUN response to one of them.
	Sent, NotSTUN int
	// Err is nil when Response is set. Kind classifies it: KindTimeout (no
	// answer: dropped silently somewhere), KindPermission (the send failed at
	// once: a local firewall), KindRefused (ICMP port unreachable, connected
	// sockets only), KindUnreachable, KindNotSTUN, KindCancelled.
	Err  error
	Kind Kind
	// Elapsed is the time the whole transaction took.
	Elapsed time.Duration
}

// OK reports whether a STUN response (of any class) came back.
func (x Exchange) OK() bool { return x.Response != nil }

// Success reports whether a success response arrived: an error response
// (even one with ERROR-CODE 0) proves nothing about what the request
// carried, so size tests count only successes.
func (x Exchange) Success() bool {
	code, _ := x.ErrorCode()
	return x.Response != nil && code == 0
}

// ErrorCode returns the STUN error code of an error response (0 when the
// response is a success or there is none; -1 for an error response
// without a usable ERROR-CODE) and its reason phrase, as
// serverText makes it fit for a report (the server chose it).
func (x Exchange) ErrorCode() (int, string) {
	if x.Response == nil || x.Response.Type.Class != stun.ClassErrorResponse {
		return 0, ""
	}
	var ec stun.ErrorCodeAttribute
	if err := ec.GetFrom(x.Response); err != nil {
		return -1, "error response without ERROR-CODE"
	}
	if ec.Code == 0 {
		// Not a valid code (RFC 8489: 300–699), and 0 means "no error" to
		// the callers: an error response must never read as a success.
		return -1, "error response with ERROR-CODE 0"
	}
	return int(ec.Code), serverText(string(ec.Reason))
}

// maxServerText bounds text a server chose (a STUN reason phrase, a
// REALM) quoted in a report.
const maxServerText = 128

// serverText makes text a server sent fit for a one-line report field:
// control characters and invalid UTF-8 become '?', and it is clipped to
// maxServerText bytes.
func serverText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
	return clipText(s, maxServerText)
}

// Transact sends a STUN request built from setters (message type and
// attributes, in order; the transaction id is added first by Transact) on
// conn to addr, and waits for the response, retransmitting on sched until
// the response comes, sched.MaxSends is reached or ctx ends. It never
// returns before a failure is known, and returns at once when the send
// itself fails (EPERM from a local firewall is reported immediately, not
// after a timeout).
//
// Every transmission carries a fresh transaction id, and a response to any
// of them is accepted: the RTT is then exact (no Karn ambiguity). So use
// it for idempotent requests only: Binding, and Allocate without
// credentials (answered 401 every time).
//
// conn may be connected (net.DialUDP; writes go to its peer, addr is then
// ignored and may be nil): only a connected socket learns about ICMP port
// unreachable (KindRefused); on an unconnected one a refused port looks
// like a timeout. conn must not be read by anyone else meanwhile; Transact
// sets and clears its read deadline. Network failures are in Exchange; the
// error is only for misuse (setters that do not build a message).
func Transact(ctx context.Context, conn net.PacketConn, addr net.Addr, sched Schedule, setters ...stun.Setter) (Exchange, error) {
	start := time.Now()
	sched = sched.withDefaults()
	build := func() (*stun.Message, error) {
		return stun.Build(append([]stun.Setter{stun.TransactionID}, setters...)...)
	}
	if _, err := build(); err != nil {
		return Exchange{}, fmt.Errorf("stun request: %w", err)
	}
	connected := false
	if uc, ok := conn.(*net.UDPConn); ok && uc.RemoteAddr() != nil {
		connected = true
	}
	if !connected && addr == nil {
		return Exchange{}, errors.New("stun request: no address and conn is not connected")
	}

	// Wake a blocked read when ctx ends (cancel without a deadline).
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer func() {
		stop()
		_ = conn.SetReadDeadline(time.Time{})
	}()

	var (
		x        Exchange
		sentAt   = map[[stun.TransactionIDSize]byte]time.Time{}
		wait     = sched.RTO
		nextSend time.Time
		buf      = make([]byte, 64*1024)
	)
	finish := func(err error) (Exchange, error) {
		x.Err, x.Kind = err, Classify(err)
		if x.Kind == KindTimeout && x.NotSTUN > 0 {
			x.Kind = KindNotSTUN
			x.Err = fmt.Errorf("%d datagram(s) came back that were not a STUN response: %w", x.NotSTUN, err)
		}
		x.Elapsed = time.Since(start)
		return x, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return finish(err)
		}
		now := time.Now()
		if !now.Before(nextSend) {
			// Something answered with junk and a whole interval passed
			// without a real answer: it will not get better.
			if x.NotSTUN > 0 && x.Sent > 0 {
				return finish(context.DeadlineExceeded)
			}
			if sched.MaxSends > 0 && x.Sent >= sched.MaxSends {
				return finish(context.DeadlineExceeded)
			}
			m, err := build()
			if err != nil {
				return Exchange{}, err
			}
			if connected {
				_, err = conn.(*net.UDPConn).Write(m.Raw)
			} else {
				_, err = conn.WriteTo(m.Raw, addr)
			}
			if err != nil {
				return finish(err)
			}
			sentAt[m.TransactionID] = time.Now()
			x.Sent++
			nextSend = now.Add(wait)
			wait = min(2*wait, sched.MaxRTO)
			if sched.MaxSends > 0 && x.Sent >= sched.MaxSends {
				// After the last transmission wait one more interval at most.
				nextSend = now.Add(wait)
			}
		}
		dl := nextSend
		if d, ok := ctx.Deadline(); ok && d.Before(dl) {
			dl = d
		}
		_ = conn.SetReadDeadline(dl)
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if Classify(err) == KindTimeout {
				continue // time to retransmit, or ctx ended: the loop decides
			}
			return finish(err)
		}
		m, t0, ok := matchResponse(buf[:n], sentAt)
		if !ok {
			x.NotSTUN++
			continue
		}
		x.Response, x.From, x.RTT = m, from, time.Since(t0)
		x.Elapsed = time.Since(start)
		return x, nil
	}
}

// matchResponse decodes datagram b (what a server sent) as the response
// to one of our transactions: a STUN success or error response whose
// transaction id is in sentAt (with its send time). Anything else — not
// STUN, malformed, a request or indication, someone else's transaction —
// is not ok. b is copied, not retained.
func matchResponse(b []byte, sentAt map[[stun.TransactionIDSize]byte]time.Time) (*stun.Message, time.Time, bool) {
	if !stun.IsMessage(b) {
		return nil, time.Time{}, false
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		return nil, time.Time{}, false
	}
	t0, ours := sentAt[m.TransactionID]
	if !ours || m.Type.Class == stun.ClassRequest || m.Type.Class == stun.ClassIndication {
		return nil, time.Time{}, false
	}
	return m, t0, true
}

// Binding sends a STUN Binding request (plus extra attributes, e.g. a
// padding attribute) with Transact and returns the exchange and the
// mapped address the server saw (zero when there is none).
func Binding(ctx context.Context, conn net.PacketConn, addr net.Addr, sched Schedule, extra ...stun.Setter) (Exchange, netip.AddrPort, error) {
	setters := append([]stun.Setter{stun.BindingRequest}, extra...)
	setters = append(setters, stun.Fingerprint)
	x, err := Transact(ctx, conn, addr, sched, setters...)
	if err != nil || x.Response == nil {
		return x, netip.AddrPort{}, err
	}
	mapped, _ := MappedAddress(x.Response)
	return x, mapped, nil
}

// MappedAddress returns the XOR-MAPPED-ADDRESS of a Binding response, or
// its MAPPED-ADDRESS (old servers), unmapping IPv4-in-IPv6 addresses.
func MappedAddress(m *stun.Message) (netip.AddrPort, error) {
	var ip net.IP
	var port int
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(m); err == nil {
		ip, port = xa.IP, xa.Port
	} else {
		var ma stun.MappedAddress
		if err2 := ma.GetFrom(m); err2 != nil {
			return netip.AddrPort{}, fmt.Errorf("no XOR-MAPPED-ADDRESS or MAPPED-ADDRESS in the response: %w", err)
		}
		ip, port = ma.IP, ma.Port
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.AddrPort{}, errors.New("bad mapped address")
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}

// DialUDP opens a UDP socket connected to addr (connected, so an ICMP port
// unreachable comes back as KindRefused). Nothing is sent. A failure is
// classified like a send's (no route: KindUnreachable).
func DialUDP(ctx context.Context, addr netip.AddrPort) (*net.UDPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr.String())
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// PaddingAttr is the attribute path.large-datagram pads requests with:
// in the comprehension-optional range (0x8000–0xFFFF), so a server that
// does not know it ignores it instead of answering 420 Unknown Attribute
// (RFC 8489 §15; coturn and pion/turn both skip unknown optional ones).
// RFC 5780's PADDING (0x0026) is comprehension-required and would be
// refused by servers without RFC 5780 support. 0xC0C9 is unassigned.
const PaddingAttr stun.AttrType = 0xC0C9

// Padding returns a setter adding a PaddingAttr of n bytes (n rounded up
// to a multiple of 4 by the STUN encoding).
func Padding(n int) stun.Setter {
	return stun.RawAttribute{Type: PaddingAttr, Value: make([]byte, n)}
}

// clipText cuts s to at most n bytes on a rune boundary, marking the cut
// with "…".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
