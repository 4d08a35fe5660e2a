package impair

import (
	"encoding/binary"
	"math"
	"net"
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

// send sends n datagrams every gap through r and collects the echoes.
func send(t *testing.T, r *Relay, n int, gap time.Duration) run {
	t.Helper()
	c, err := net.DialUDP("udp", nil, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := make([]time.Time, n)
	out := run{rtts: map[uint32][]time.Duration{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		in := rxstamp.New(c)
		for {
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			k, _, at, err := in.Read(buf)
			if err != nil {
				return
			}
			if k < 4 {
				continue
			}
			s := binary.BigEndian.Uint32(buf)
			out.rtts[s] = append(out.rtts[s], at.Sub(sent[s]))
			out.order = append(out.order, s)
		}
	}()
	start := time.Now()
	b := make([]byte, 120)
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * gap)))
		binary.BigEndian.PutUint32(b, uint32(i))
		sent[i] = time.Now()
		c.Write(b)
	}
	<-done
	return out
}

// TestRelayAccuracy measures the relay against what it was told to do:
// the delay it applied within −0.2/+1 ms of the configured mean, the
// delay a client sees within 1 ms, the jitter's standard deviation within
// 15 % + 1.5 ms (the client's own scheduling adds to it on a busy
// machine), the loss, reordering and duplication exact. Subtests run one
// after the other so they do not load the CPU for each other.
func TestRelayAccuracy(t *testing.T) {
	cases := []struct {
		name string
		d    Direction
	}{
		{"20ms", Direction{Delay: 20 * time.Millisecond}},
		{"50ms±10 uniform", Direction{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}},
		{"40ms σ5 normal", Direction{Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond, Dist: Normal}},
	}
	base := baseline(t)
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			r, err := New(echo(t).LocalAddr().String(), Config{Up: k.d, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := send(t, r, 500, 4*time.Millisecond)
			var sum, sq float64
			for _, v := range got.rtts {
				x := float64(v[0]-base) / 1e6
				sum += x
				sq += x * x
			}
			n := float64(len(got.rtts))
			mean := sum / n
			sd := math.Sqrt(sq/n - mean*mean)
			wantSD := float64(k.d.Jitter) / 1e6
			if k.d.Dist == Uniform {
				wantSD /= math.Sqrt(3)
			}
			up, _ := r.Counts()
			t.Logf("injected %v ± %v: measured mean %.3f ms, sd %.3f ms (want %.3f); relay applied mean %v max %v", k.d.Delay, k.d.Jitter, mean, sd, wantSD, up.AppliedMean, up.AppliedMax)
			// The relay's schedule: what it applied against what it was told.
			if d := up.AppliedMean - k.d.Delay; d < -200*time.Microsecond || d > time.Millisecond {
				t.Errorf("relay applied a mean delay of %v, told %v", up.AppliedMean, k.d.Delay)
			}
			// End to end, as a client sees it.
			if math.Abs(mean-float64(k.d.Delay)/1e6) > 1 {
				t.Errorf("mean delay %.3f ms, injected %v", mean, k.d.Delay)
			}
			if math.Abs(sd-wantSD) > 0.15*wantSD+1.5 {
				t.Errorf("delay sd %.3f ms, want %.3f", sd, wantSD)
			}
		})
	}
	t.Run("loss reorder duplicate", func(t *testing.T) {
		r, err := New(echo(t).LocalAddr().String(), Config{
			Up:   Direction{LossEvery: 50, ReorderEvery: 25, ReorderDelay: 15 * time.Millisecond},
			Down: Direction{DuplicateEvery: 100},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got := send(t, r, 1000, 2*time.Millisecond)
		up, down := r.Counts()
		if len(got.rtts) != 980 || up.Dropped != 20 {
			t.Errorf("received %d of 1000 (relay dropped %d), want exactly 980 (2%%)", len(got.rtts), up.Dropped)
		}
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
		if down.Duplicated != 9 || dups != 9 {
			t.Errorf("duplicates: relay %d, seen %d, want 9", down.Duplicated, dups)
		}
		// Every 25th except those also dropped (every 50th): 20 late.
		if late < 19 {
			t.Errorf("%d reordered arrivals, want ≥ 19", late)
		}
	})
}

// baseline is the relay's own round trip without impairment (median).
func baseline(t *testing.T) time.Duration {
	r, err := New(echo(t).LocalAddr().String(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := send(t, r, 100, 2*time.Millisecond)
	var v []time.Duration
	for _, x := range got.rtts {
		v = append(v, x[0])
	}
	if len(v) == 0 {
		t.Fatal("no echo through the relay")
	}
	for i := range v {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	t.Logf("relay baseline RTT %v", v[len(v)/2])
	return v[len(v)/2]
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
