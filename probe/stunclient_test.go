package probe

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

func TestTransactBindingRTTAndMappedAddress(t *testing.T) {
	port := udpTestSTUN(t, 0, 0)
	conn, err := DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	x, mapped, err := Binding(ctx, conn, nil, Schedule{})
	if err != nil {
		t.Fatal(err)
	}
	if !x.OK() || x.Sent != 1 || x.Kind != KindNone {
		t.Fatalf("exchange %+v", x)
	}
	if mapped.String() != conn.LocalAddr().String() {
		t.Errorf("mapped %s, want our own %s", mapped, conn.LocalAddr())
	}
	if x.RTT <= 0 || x.RTT > 500*time.Millisecond {
		t.Errorf("RTT %v", x.RTT)
	}
}

func TestTransactRetransmitsOnOwnSchedule(t *testing.T) {
	// A server that ignores the first two requests: the third transmission
	// is answered, and the RTT is that transmission's, not since the first.
	seen := 0
	port := udpTestServe(t, func(pc net.PacketConn, b []byte, from net.Addr) {
		seen++
		if seen < 3 {
			return
		}
		req := &stun.Message{Raw: b}
		if req.Decode() != nil {
			return
		}
		res := stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: 1}, stun.Fingerprint)
		_, _ = pc.WriteTo(res.Raw, from)
	})
	conn, err := DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	x, _, err := Binding(ctx, conn, nil, Schedule{RTO: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !x.OK() || x.Sent != 3 {
		t.Fatalf("want an answer to the 3rd transmission, got %+v", x)
	}
	if x.RTT > 40*time.Millisecond {
		t.Errorf("RTT %v: measured from an earlier transmission", x.RTT)
	}
	if x.Elapsed < 150*time.Millisecond {
		t.Errorf("elapsed %v: retransmitted faster than the schedule (50+100 ms)", x.Elapsed)
	}
}

func TestTransactFailureKinds(t *testing.T) {
	cases := []struct {
		name string
		port int
		want Kind
		max  time.Duration
	}{
		{"blackhole", udpTestBlackhole(t), KindTimeout, 2 * time.Second},
		{"refused", udpTestClosedPort(t), KindRefused, 300 * time.Millisecond},
		{"garbage", udpTestGarbage(t), KindNotSTUN, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(c.port)))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
			defer cancel()
			x, _, err := Binding(ctx, conn, nil, Schedule{})
			if err != nil {
				t.Fatal(err)
			}
			if x.OK() || x.Kind != c.want {
				t.Fatalf("kind %q (err %v), want %q", x.Kind, x.Err, c.want)
			}
			if x.Elapsed > c.max {
				t.Errorf("took %v, want under %v", x.Elapsed, c.max)
			}
		})
	}
}

func TestTransactMaxSendsAndCancel(t *testing.T) {
	port := udpTestBlackhole(t)
	conn, err := DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	x, _, _ := Binding(context.Background(), conn, nil, Schedule{RTO: 20 * time.Millisecond, MaxSends: 2})
	if x.Sent != 2 || x.Kind != KindTimeout {
		t.Errorf("MaxSends 2: sent %d kind %q", x.Sent, x.Kind)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	x, _, _ = Binding(ctx, conn, nil, Schedule{})
	if x.Kind != KindCancelled || x.Elapsed > time.Second {
		t.Errorf("cancel: kind %q after %v", x.Kind, x.Elapsed)
	}
	if _, err := Transact(context.Background(), conn, nil, Schedule{}, udpBadSetter{}); err == nil {
		t.Error("an unbuildable request is misuse: want an error")
	}
}

// FuzzMappedAddress feeds arbitrary datagrams through the decoding a STUN
// response gets: it must never panic.
func FuzzMappedAddress(f *testing.F) {
	ok := stun.MustBuild(stun.TransactionID, stun.BindingSuccess, &stun.XORMappedAddress{IP: []byte{192, 0, 2, 1}, Port: 5000}, stun.Fingerprint)
	f.Add(ok.Raw)
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !stun.IsMessage(b) {
			return
		}
		m := &stun.Message{Raw: append([]byte(nil), b...)}
		if m.Decode() != nil {
			return
		}
		_, _ = MappedAddress(m)
		x := Exchange{Response: m}
		_, _ = x.ErrorCode()
	})
}

// udpBadSetter is a setter that cannot add itself: misuse.
type udpBadSetter struct{}

func (udpBadSetter) AddTo(*stun.Message) error { return stun.ErrAttributeSizeInvalid }
