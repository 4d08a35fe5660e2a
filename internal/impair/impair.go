// Package impair is an impairing UDP relay for tests: a proxy on loopback
// that holds each datagram for a configured delay ± jitter and drops,
// reorders or duplicates a deterministic share of them, separately per
// direction. It stands in for netem, which the test machines lack
// (docs/LAB.md), so accuracy tests can compare what a probe measures with
// what was injected.
//
// Delays are timed on the monotonic clock with sub-millisecond sleeps
// (internal/pace); TestRelayAccuracy measures the relay itself.
package impair

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/pace"
	"github.com/ccp-preflight/ccp-preflight/internal/rxstamp"
)

// Dist is the shape of the jitter added to the delay.
type Dist int

// Jitter distributions.
const (
	// Uniform draws the extra delay uniformly in [−Jitter, +Jitter]
	// (standard deviation Jitter/√3).
	Uniform Dist = iota
	// Normal draws it from a normal distribution of standard deviation
	// Jitter.
	Normal
)

// Direction is the impairment of one direction of the relay. The zero
// value forwards at once and drops nothing.
type Direction struct {
	Delay  time.Duration
	Jitter time.Duration
	Dist   Dist
	// LossEvery drops every Nth datagram (50 = exactly 2%); 0 drops none.
	LossEvery int
	// ReorderEvery holds every Nth datagram ReorderDelay longer, so it
	// arrives after the ones sent just after it; 0 reorders none.
	ReorderEvery int
	ReorderDelay time.Duration
	// DuplicateEvery sends every Nth datagram twice; 0 duplicates none.
	DuplicateEvery int
	// RatePPS polices the direction to this many datagrams a second
	// (over 100 ms slots, as a shaper or policer on a site's uplink
	// would); 0 is unlimited.
	RatePPS int
}

// Config is the relay's impairment: Up is client → target, Down the replies.
type Config struct {
	Up, Down Direction
	// Seed makes the jitter reproducible.
	Seed int64
	// MaxSessions is the number of client addresses the relay maps, as a
	// NAT with a full port table: datagrams from further clients are
	// dropped. 0 is unlimited.
	MaxSessions int
	// Trace, when set, is called for every datagram the relay sends, with
	// its direction (0 up, 1 down), its bytes (do not keep them), the
	// delay planned for it and the delay actually applied (kernel arrival
	// to send, late wake-ups included): per-datagram truth for tests that
	// compare a measurement with what the relay did. Called from the
	// relay's goroutines: it must be safe for concurrent use.
	Trace func(dir int, data []byte, planned, applied time.Duration)
}

// policeSlot is the policer's accounting slot.
const policeSlot = 100 * time.Millisecond

// Counts are what one direction did. Applied figures are the delays the
// relay actually applied (from the kernel's receive time to the moment
// the relay sent, late wake-ups included): the truth a measurement through
// the relay is compared with.
type Counts struct {
	In, Out, Dropped, Reordered, Duplicated int
	// Applied is how many datagrams were delayed and sent.
	Applied int
	// AppliedMean is the mean applied delay, AppliedMeanAbsDiff the mean
	// |difference| of the applied delays of consecutive datagrams (what
	// RFC 3550 jitter measures), AppliedMax the largest.
	AppliedMean, AppliedMeanAbsDiff, AppliedMax time.Duration

	sum, absDiffSum float64
	last            time.Duration
	nDiff           int
}

func (c *Counts) record(d time.Duration) {
	if c.Applied > 0 {
		c.absDiffSum += math.Abs(float64(d - c.last))
		c.nDiff++
		c.AppliedMeanAbsDiff = time.Duration(c.absDiffSum / float64(c.nDiff))
	}
	c.last = d
	c.Applied++
	c.sum += float64(d)
	c.AppliedMean = time.Duration(c.sum / float64(c.Applied))
	if d > c.AppliedMax {
		c.AppliedMax = d
	}
}

// Relay forwards datagrams between clients and one target. Each client
// address gets its own socket towards the target, so the target sees as
// many sources as there are clients (as behind a NAT).
type Relay struct {
	cfg    Config
	target *net.UDPAddr
	ln     *net.UDPConn

	mu       sync.Mutex
	rng      *rand.Rand
	sessions map[string]*net.UDPConn
	counts   [2]Counts // up, down
	slot     [2]struct {
		start time.Time
		n     int
	}
	closed bool
	wg     sync.WaitGroup
}

// New starts a relay on 127.0.0.1 (an ephemeral port) towards target,
// which must be a loopback address: the relay never sends elsewhere.
func New(target string, cfg Config) (*Relay, error) {
	ta, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, fmt.Errorf("impair: target %q: %w", target, err)
	}
	if !ta.IP.IsLoopback() {
		return nil, fmt.Errorf("impair: target %s is not a loopback address", ta)
	}
	for _, d := range []Direction{cfg.Up, cfg.Down} {
		if d.Delay < 0 || d.Jitter < 0 || d.LossEvery < 0 || d.ReorderEvery < 0 || d.DuplicateEvery < 0 || d.ReorderDelay < 0 {
			return nil, errors.New("impair: negative impairment")
		}
	}
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	r := &Relay{cfg: cfg, target: ta, ln: ln, rng: rand.New(rand.NewSource(cfg.Seed)), sessions: map[string]*net.UDPConn{}}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

// Addr is where clients send.
func (r *Relay) Addr() *net.UDPAddr { return r.ln.LocalAddr().(*net.UDPAddr) }

// Counts returns what each direction did so far.
func (r *Relay) Counts() (up, down Counts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[0], r.counts[1]
}

// Close stops the relay; datagrams still held are dropped.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for _, c := range r.sessions {
		c.Close()
	}
	r.mu.Unlock()
	err := r.ln.Close()
	r.wg.Wait()
	return err
}

func (r *Relay) serve() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	in := rxstamp.New(r.ln)
	for {
		n, from, at, err := in.Read(buf)
		if err != nil {
			return
		}
		up, err := r.session(from)
		if err != nil {
			continue
		}
		data := append([]byte(nil), buf[:n]...)
		r.forward(0, at, data, func(b []byte) { up.Write(b) })
	}
}

// session returns the client's socket towards the target, starting its
// reply pump on first use.
func (r *Relay) session(client *net.UDPAddr) (*net.UDPConn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, net.ErrClosed
	}
	if c, ok := r.sessions[client.String()]; ok {
		return c, nil
	}
	if r.cfg.MaxSessions > 0 && len(r.sessions) >= r.cfg.MaxSessions {
		r.counts[0].In++
		r.counts[0].Dropped++
		return nil, errors.New("impair: session table full")
	}
	c, err := net.DialUDP("udp", nil, r.target)
	if err != nil {
		return nil, err
	}
	r.sessions[client.String()] = c
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65536)
		in := rxstamp.New(c)
		for {
			n, _, at, err := in.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && !ne.Timeout() && !errors.Is(err, net.ErrClosed) {
					continue // e.g. ICMP port unreachable from the target
				}
				return
			}
			data := append([]byte(nil), buf[:n]...)
			r.forward(1, at, data, func(b []byte) { r.ln.WriteToUDP(b, client) })
		}
	}()
	return c, nil
}

// forward applies direction dir's impairment to one datagram that
// arrived at now (the kernel's receive time where there is one, so the
// relay's own scheduling delay is not added to the injected delay).
func (r *Relay) forward(dir int, now time.Time, data []byte, send func([]byte)) {
	d := r.cfg.Up
	if dir == 1 {
		d = r.cfg.Down
	}
	r.mu.Lock()
	c := &r.counts[dir]
	c.In++
	n := c.In
	if d.LossEvery > 0 && n%d.LossEvery == 0 {
		c.Dropped++
		r.mu.Unlock()
		return
	}
	if d.RatePPS > 0 {
		sl := &r.slot[dir]
		if now.Sub(sl.start) >= policeSlot {
			sl.start, sl.n = now, 0
		}
		sl.n++
		if sl.n > d.RatePPS*int(policeSlot/time.Millisecond)/1000 {
			c.Dropped++
			r.mu.Unlock()
			return
		}
	}
	delay := d.Delay + r.jitter(d)
	if d.ReorderEvery > 0 && n%d.ReorderEvery == 0 {
		delay += d.ReorderDelay
		c.Reordered++
	}
	copies := 1
	if d.DuplicateEvery > 0 && n%d.DuplicateEvery == 0 {
		copies = 2
		c.Duplicated++
	}
	c.Out += copies
	r.mu.Unlock()
	if delay < 0 {
		delay = 0
	}
	due := now.Add(delay)
	out := func() {
		applied := time.Since(now)
		for i := 0; i < copies; i++ {
			send(data)
		}
		r.mu.Lock()
		r.counts[dir].record(applied)
		r.mu.Unlock()
		if r.cfg.Trace != nil {
			r.cfg.Trace(dir, data, delay, applied)
		}
	}
	if delay == 0 {
		out()
		return
	}
	go func() {
		pace.SleepUntil(due)
		out()
	}()
}

// jitter draws one extra delay; r.mu is held.
func (r *Relay) jitter(d Direction) time.Duration {
	if d.Jitter == 0 {
		return 0
	}
	j := float64(d.Jitter)
	switch d.Dist {
	case Normal:
		return time.Duration(r.rng.NormFloat64() * j)
	default:
		return time.Duration((2*r.rng.Float64() - 1) * j)
	}
}

// ExpectedMeanAbsDiff is E|X−Y| for two independent draws of a
// direction's jitter: what RFC 3550's interarrival jitter converges to
// when only this jitter varies the transit. Uniform ±a: 2a/3; normal σ:
// 2σ/√π.
func ExpectedMeanAbsDiff(d Direction) time.Duration {
	switch d.Dist {
	case Normal:
		return time.Duration(2 * float64(d.Jitter) / math.Sqrt(math.Pi))
	default:
		return time.Duration(2 * float64(d.Jitter) / 3)
	}
}
