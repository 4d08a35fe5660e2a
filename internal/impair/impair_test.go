package impair

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/rxstamp"
)

// echo starts a UDP echo server on loopback.
func echo(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, a, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			c.WriteToUDP(buf[:n], a)
		}
	}()
	return c
}

type run struct {
	rtts  map[uint32][]time.Duration // seq → every reply's RTT
	order []uint32
}

// send sends n datagrams every gap through r and collects the echoes
// (see ping).
func send(t *testing.T, r *Relay, n int, gap time.Duration) run {
	t.Helper()
	out := run{rtts: map[uint32][]time.Duration{}}
	ping(t, r.Addr(), n, gap, func(s uint32, rtt time.Duration, _ []byte) {
		out.rtts[s] = append(out.rtts[s], rtt)
		out.order = append(out.order, s)
	})
	return out
}

// ping sends n datagrams of 120 bytes, numbered in their first 4 bytes,
// every gap to addr and calls reply (from one goroutine, in arrival order)
// for each echo of one of them, with its round trip from the kernel's
// receive stamp, until a second passes without one after the last send
// (not a fixed time: on a loaded machine replies come late, and are still
// replies). reply's calls are over when ping returns.
func ping(t *testing.T, addr *net.UDPAddr, n int, gap time.Duration, reply func(seq uint32, rtt time.Duration, b []byte)) {
	t.Helper()
	c, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	sent := make([]time.Time, n)
	var sentAll atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		in := rxstamp.New(c)
		last := time.Now()
		for {
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			k, _, at, err := in.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && !(sentAll.Load() && time.Since(last) > time.Second) {
					continue
				}
				return
			}
			last = time.Now()
			if k < 4 {
				continue
			}
			s := binary.BigEndian.Uint32(buf)
			if int(s) >= n {
				continue
			}
			mu.Lock()
			rtt := at.Sub(sent[s])
			mu.Unlock()
			reply(s, rtt, buf[:k])
		}
	}()
	start := time.Now()
	b := make([]byte, 120)
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * gap)))
		binary.BigEndian.PutUint32(b, uint32(i))
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		c.Write(b)
	}
	sentAll.Store(true)
	<-done
}

// stampedEcho starts a UDP echo server on loopback that writes into each
// reply (bytes 4–11) how long the datagram waited in it: from the
// kernel's arrival stamp to the reply's send. The client can then take
// the echo's own delay out of each round trip.
func stampedEcho(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		in := rxstamp.New(c)
		for {
			n, a, at, err := in.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 {
				binary.BigEndian.PutUint64(buf[4:], uint64(time.Since(at)))
			}
			c.WriteToUDP(buf[:n], a)
		}
	}()
	return c
}

// packet is one datagram's journey through the relay and back.
type packet struct {
	planned, applied time.Duration // up: the delay drawn, and the one applied
	down             time.Duration // the reply's time in the relay (no delay configured)
	echo             time.Duration // the reply's time in the echo server
	rtt              time.Duration // the round trip the client measured
	traced, echoed   bool
}

// measureRelay sends n datagrams every gap through a relay with up
// impairment d and returns each one's journey, matched by sequence number
// from the relay's Trace and the client's receive stamps.
func measureRelay(t *testing.T, d Direction, n int, gap time.Duration) []packet {
	t.Helper()
	pk := make([]packet, n)
	var mu sync.Mutex
	trace := func(dir int, data []byte, planned, applied time.Duration) {
		if len(data) < 4 {
			return
		}
		s := binary.BigEndian.Uint32(data)
		mu.Lock()
		defer mu.Unlock()
		if int(s) >= n {
			return
		}
		if dir == 0 {
			pk[s].planned, pk[s].applied, pk[s].traced = planned, applied, true
		} else {
			pk[s].down = applied
		}
	}
	r, err := New(stampedEcho(t).LocalAddr().String(), Config{Up: d, Seed: 1, Trace: trace})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ping(t, r.Addr(), n, gap, func(s uint32, rtt time.Duration, b []byte) {
		if len(b) < 12 {
			return
		}
		mu.Lock()
		pk[s].rtt, pk[s].echo, pk[s].echoed = rtt, time.Duration(binary.BigEndian.Uint64(b[4:])), true
		mu.Unlock()
	})
	mu.Lock()
	defer mu.Unlock()
	return append([]packet(nil), pk...)
}

// meanSD returns the mean and standard deviation of xs, in milliseconds.
func meanSD(xs []time.Duration) (mean, sd float64) {
	var sum, sq float64
	for _, x := range xs {
		v := float64(x) / 1e6
		sum += v
		sq += v * v
	}
	n := float64(len(xs))
	mean = sum / n
	return mean, math.Sqrt(math.Max(0, sq/n-mean*mean))
}

// quantile returns the q-quantile of xs (sorted copy).
func quantile(xs []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), xs...)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// relayTries is how often TestRelayAccuracy measures a case whose relay
// could not hold its schedule (a loaded machine) before it gives up on
// that part.
const relayTries = 3

// TestRelayAccuracy measures the relay against what it was told to do and
// against what it actually did, datagram by datagram:
//
//   - the delays it drew have the configured mean and spread (pure
//     arithmetic, always asserted);
//   - it never sends a datagram before its planned time (always);
//   - the round trip the client measures is what the relay and the echo
//     applied, per datagram, within 0.5 ms (median) — the harness's own
//     truth, always asserted: on a loaded machine a late release is real
//     delay a measurement must see, not an error;
//   - the applied delays match the configured ones (mean within 1 ms, the
//     spread within 15 % + 1.5 ms) — only when the relay held its
//     schedule: when it woke late (mean lateness > 1 ms), the test says
//     so and measures again, and after relayTries it skips that part with
//     the figures, since a loaded machine is not a wrong relay.
//
// Before: a machine at load 6–10 failed it ("relay applied a mean delay
// of 22.3ms, told 20ms") although the measurement agreed with what was
// applied. Subtests run one after the other so they do not load the CPU
// for each other.
func TestRelayAccuracy(t *testing.T) {
	cases := []struct {
		name string
		d    Direction
	}{
		{"20ms", Direction{Delay: 20 * time.Millisecond}},
		{"50ms±10 uniform", Direction{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}},
		{"40ms σ5 normal", Direction{Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond, Dist: Normal}},
	}
	const n, gap = 500, 4 * time.Millisecond
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			wantSD := float64(k.d.Jitter) / 1e6
			if k.d.Dist == Uniform {
				wantSD /= math.Sqrt(3)
			}
			var late []string
			for try := 1; try <= relayTries; try++ {
				pk := measureRelay(t, k.d, n, gap)
				var planned, applied, lateness, residual, seen []time.Duration
				early := 0
				for i, p := range pk {
					if !p.traced || !p.echoed {
						continue
					}
					planned = append(planned, p.planned)
					applied = append(applied, p.applied)
					lateness = append(lateness, p.applied-p.planned)
					if p.applied < p.planned-200*time.Microsecond {
						early++
						if early <= 3 {
							t.Errorf("datagram %d sent %v after arrival, planned %v: early", i, p.applied, p.planned)
						}
					}
					// What the client saw, less what the relay (both ways)
					// and the echo held it: the loopback's own transit.
					residual = append(residual, p.rtt-p.applied-p.down-p.echo)
					seen = append(seen, p.rtt-p.down-p.echo)
				}
				if up, _ := relayCounts(pk); len(planned) < n*95/100 {
					// The relay drops nothing here: what is missing was lost
					// in the kernel's buffers, outside the relay.
					late = append(late, fmt.Sprintf("%d of %d datagrams lost outside the relay (%d traced)", n-len(planned), n, up))
					t.Logf("try %d: %s: the machine is too loaded; measuring again", try, late[len(late)-1])
					continue
				}
				// The draw: what the relay was told, in its own numbers.
				pm, psd := meanSD(planned)
				if math.Abs(pm-float64(k.d.Delay)/1e6) > 4*wantSD/math.Sqrt(float64(len(planned)))+0.01 {
					t.Errorf("planned delays: mean %.3f ms, configured %v", pm, k.d.Delay)
				}
				if math.Abs(psd-wantSD) > 0.15*wantSD+0.01 {
					t.Errorf("planned delays: sd %.3f ms, configured %.3f", psd, wantSD)
				}
				// The measurement against the harness's truth, per datagram:
				// the client sees what the relay and the echo applied.
				abs := make([]time.Duration, len(residual))
				for i, r := range residual {
					abs[i] = max(r, -r)
				}
				// The median holds even when the machine stalls a few
				// datagrams between taking a time and sending (the client's
				// send time is taken before its write).
				med, p90 := quantile(residual, 0.5), quantile(abs, 0.9)
				if med < -500*time.Microsecond || med > 500*time.Microsecond {
					t.Errorf("round trip less what the relay and the echo applied, per datagram: median %v, want within ±0.5 ms (the measurement disagrees with the truth)", med)
				}
				am, asd := meanSD(applied)
				lm, _ := meanSD(lateness)
				sm, ssd := meanSD(seen)
				t.Logf("try %d: configured %v ± %v; relay planned mean %.3f sd %.3f, applied mean %.3f sd %.3f (late by mean %.3f ms, p99 %v); client saw mean %.3f sd %.3f; residual median %v, p90 |residual| %v",
					try, k.d.Delay, k.d.Jitter, pm, psd, am, asd, lm, quantile(lateness, 0.99), sm, ssd, med, p90)
				// The harness against its configuration: did the relay hold
				// its schedule (mean within 1 ms, spread within 15 % + 1.5 ms)?
				if math.Abs(am-float64(k.d.Delay)/1e6) > 1 || math.Abs(asd-wantSD) > 0.15*wantSD+1.5 {
					late = append(late, fmt.Sprintf("applied %.2f ± %.2f ms", am, asd))
					t.Logf("try %d: the relay could not hold its schedule on this machine (applied mean %.3f ms sd %.3f, late by %.2f ms on average): measuring again", try, am, asd, lm)
					continue
				}
				// It did: nearly every datagram's measurement is its truth,
				// and the client sees the configured delay.
				if p90 > time.Millisecond {
					t.Errorf("round trip less what the relay and the echo applied: 90%% of datagrams within %v, want within 1 ms", p90)
				}
				if math.Abs(sm-float64(k.d.Delay)/1e6) > 1 {
					t.Errorf("mean delay seen %.3f ms, configured %v", sm, k.d.Delay)
				}
				if math.Abs(ssd-wantSD) > 0.15*wantSD+1.5 {
					t.Errorf("delay sd seen %.3f ms, configured %.3f", ssd, wantSD)
				}
				return
			}
			t.Skipf("the relay could not hold its schedule in %d tries (%s; configured %v ± %v: the machine is too loaded): its accuracy against the configuration is not measurable here; the measurement agreed with what it applied", relayTries, strings.Join(late, ", "), k.d.Delay, k.d.Jitter)
		})
	}
	// Loss, reordering and duplication are counts: exact, on what reached
	// the relay (a loaded kernel may drop datagrams before the relay or
	// after it: then the counts are not comparable, and it tries again).
	t.Run("loss reorder duplicate", func(t *testing.T) {
		var why []string
		for try := 1; try <= relayTries; try++ {
			var (
				mu       sync.Mutex
				lateness []time.Duration
			)
			r, err := New(echo(t).LocalAddr().String(), Config{
				Up:   Direction{LossEvery: 50, ReorderEvery: 25, ReorderDelay: 15 * time.Millisecond},
				Down: Direction{DuplicateEvery: 100},
				Trace: func(dir int, _ []byte, planned, applied time.Duration) {
					mu.Lock()
					lateness = append(lateness, applied-planned)
					mu.Unlock()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			got := send(t, r, 1000, 2*time.Millisecond)
			r.Close()
			up, down := r.Counts()
			dups, late := 0, 0
			for _, v := range got.rtts {
				dups += len(v) - 1
			}
			max := uint32(0)
			for _, s := range got.order {
				if s < max {
					late++
				}
				if s > max {
					max = s
				}
			}
			// The relay's own arithmetic holds whatever the load.
			if up.Dropped != up.In/50 || down.Duplicated != down.In/100 {
				t.Errorf("relay dropped %d of %d up (want every 50th), duplicated %d of %d down (want every 100th)", up.Dropped, up.In, down.Duplicated, down.In)
			}
			if up.In != 1000 || len(got.rtts)+dups != down.Out {
				why = append(why, fmt.Sprintf("the relay got %d of 1000 datagrams and sent %d replies, the client got %d", up.In, down.Out, len(got.rtts)+dups))
				t.Logf("try %d: %s: datagrams lost outside the relay (machine too loaded); measuring again", try, why[len(why)-1])
				continue
			}
			if len(got.rtts) != 980 || up.Dropped != 20 {
				t.Errorf("received %d of 1000 (relay dropped %d), want exactly 980 (2%%)", len(got.rtts), up.Dropped)
			}
			if down.Duplicated != 9 || dups != 9 {
				t.Errorf("duplicates: relay %d, seen %d, want 9", down.Duplicated, dups)
			}
			// Every 25th except those also dropped (every 50th): 20 late,
			// when the relay held its schedule (a datagram released late
			// by the machine can be overtaken too, or not overtake).
			mu.Lock()
			lm, _ := meanSD(lateness)
			mu.Unlock()
			if lm <= 1 && late < 19 {
				t.Errorf("%d reordered arrivals, want ≥ 19", late)
			}
			t.Logf("try %d: %d reordered arrivals; relay late by %.3f ms on average", try, late, lm)
			return
		}
		t.Skipf("datagrams were lost outside the relay in %d tries (%s): the machine is too loaded to count", relayTries, strings.Join(why, "; "))
	})
}

// relayCounts is how many datagrams of pk the relay traced (up).
func relayCounts(pk []packet) (traced, echoed int) {
	for _, p := range pk {
		if p.traced {
			traced++
		}
		if p.echoed {
			echoed++
		}
	}
	return traced, echoed
}

func TestRelayRefusesNonLoopback(t *testing.T) {
	if _, err := New("192.0.2.1:3478", Config{}); err == nil {
		t.Fatal("relay accepted a non-loopback target")
	}
}

// TestRelayLimits: the session table and the policer drop what exceeds them.
func TestRelayLimits(t *testing.T) {
	r, err := New(echo(t).LocalAddr().String(), Config{MaxSessions: 1, Up: Direction{RatePPS: 100}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A burst of 200 through a 100/s policer (10 per 100 ms slot): 10
	// pass, or 20 if the burst straddles two slots.
	got := send(t, r, 200, 0)
	if n := len(got.rtts); n < 10 || n > 20 {
		t.Errorf("%d of a 200-datagram burst passed a 100/s policer, want 10–20", n)
	}
	// A second client finds the table full.
	got = send(t, r, 10, time.Millisecond)
	if len(got.rtts) != 0 {
		t.Errorf("second client got %d echoes through a 1-session table", len(got.rtts))
	}
}
