// What turn.allocate and path.large-datagram share to run pion's TURN
// client: the stack of sockets a run owns, the client itself, and the
// scrubbing of credentials from library error text.

package probe

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// closeStack holds what a run opened (sockets, the TURN client, the relay
// connection). Close runs the closers once, last added first; later calls
// do nothing, and a closer added after Close is never run. Add and Close
// may be called from any goroutine.
type closeStack struct {
	mu   sync.Mutex
	once sync.Once
	fs   []func()
}

// Add pushes f.
func (c *closeStack) Add(f func()) {
	c.mu.Lock()
	c.fs = append(c.fs, f)
	c.mu.Unlock()
}

// Close closes everything added so far, once.
func (c *closeStack) Close() {
	c.once.Do(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := len(c.fs) - 1; i >= 0; i-- {
			c.fs[i]()
		}
	})
}

// CloseOnDone closes the stack when ctx ends (pion's client takes no
// context for most calls and would retry for ~8 s); the returned stop
// undoes that, as context.AfterFunc's does.
func (c *closeStack) CloseOnDone(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, c.Close)
}

// startTURNClient starts pion's TURN client with its logs off on conn
// toward the server addr, with the ICE entry's username and credential,
// and adds the client to owned. Errors are the library's: scrub them
// before quoting.
func startTURNClient(addr netip.AddrPort, ice *config.ICEServer, conn net.PacketConn, owned *closeStack) (*turn.Client, error) {
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: addr.String(),
		TURNServerAddr: addr.String(),
		Username:       ice.Username.Reveal(),
		Password:       ice.Credential.Reveal(),
		Conn:           conn,
		RTO:            DefaultRTO,
		LoggerFactory:  lf,
	})
	if err != nil {
		return nil, err
	}
	owned.Add(client.Close)
	if err := client.Listen(); err != nil {
		return nil, err
	}
	return client, nil
}

// scrubSecrets replaces every non-empty secret in s by config.Redacted: a
// belt on top of config.Secret's braces, since library error texts are
// quoted in reasons.
func scrubSecrets(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, config.Redacted)
		}
	}
	return s
}

// scrub removes the entry's credentials from a library's error text.
func scrub(s string, ice *config.ICEServer) string {
	return scrubSecrets(s, ice.Username.Reveal(), ice.Credential.Reveal())
}

// firstAnswer notes the round trip of the first STUN request a server
// answers: each request's first send (a retransmission keeps it; at most
// 256 are remembered), then the time to the first response to any of
// them. Not safe for concurrent use: its owner locks.
type firstAnswer struct {
	sentAt map[[stun.TransactionIDSize]byte]time.Time
	rtt    time.Duration
}

// sent notes an outgoing message.
func (f *firstAnswer) sent(m *stun.Message) {
	if f.rtt > 0 || m.Type.Class != stun.ClassRequest {
		return
	}
	if f.sentAt == nil {
		f.sentAt = map[[stun.TransactionIDSize]byte]time.Time{}
	}
	if _, again := f.sentAt[m.TransactionID]; !again && len(f.sentAt) < 256 {
		f.sentAt[m.TransactionID] = time.Now()
	}
}

// answered notes an incoming message and reports whether it was the first
// answer (rtt is then set).
func (f *firstAnswer) answered(m *stun.Message) bool {
	if f.rtt > 0 || m.Type.Class == stun.ClassRequest || m.Type.Class == stun.ClassIndication {
		return false
	}
	t0, ok := f.sentAt[m.TransactionID]
	if !ok {
		return false
	}
	f.rtt, f.sentAt = max(time.Since(t0), time.Microsecond), nil
	return true
}

// rttConn is the socket a TURN client talks through, watched for the
// round trip of the server's first answer, which it hands to seen once.
type rttConn struct {
	net.PacketConn
	seen func(time.Duration)

	mu sync.Mutex
	f  firstAnswer // f.rtt > 0 once the first answer came
}

func (c *rttConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.note(b, true)
	return c.PacketConn.WriteTo(b, addr)
}

func (c *rttConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if n > 0 {
		c.note(b[:n], false)
	}
	return n, addr, err
}

func (c *rttConn) note(b []byte, out bool) {
	c.mu.Lock()
	if c.f.rtt > 0 || !stun.IsMessage(b) {
		c.mu.Unlock()
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil {
		c.mu.Unlock()
		return
	}
	if out {
		c.f.sent(m)
		c.mu.Unlock()
		return
	}
	first := c.f.answered(m)
	rtt := c.f.rtt
	c.mu.Unlock()
	if first {
		c.seen(rtt)
	}
}
