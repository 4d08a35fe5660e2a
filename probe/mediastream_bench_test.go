package probe

import (
	"context"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// startResponder is a minimal STUN Binding responder on loopback: it
// costs less CPU than a TURN server, so a benchmark of the sender's
// timing is not a benchmark of the server (in the field the server is
// another machine).
func startResponder(t testing.TB) *net.UDPAddr {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		var req, resp stun.Message
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req.Raw = append(req.Raw[:0], buf[:n]...)
			if req.Decode() != nil || req.Type != stun.BindingRequest {
				continue
			}
			resp.Reset()
			if resp.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: from.IP, Port: from.Port}) == nil {
				c.WriteToUDP(resp.Raw, from)
			}
		}
	}()
	return c.LocalAddr().(*net.UDPAddr)
}

// BenchmarkPacing200Streams runs 200 concurrent paced streams (50
// packets/s each, 10,000 packets/s in all) for 2 s and reports how late
// each packet left against its schedule: p50/p99/max in ms. The target
// is p99 ≤ 2 ms on a 2-core machine.
func BenchmarkPacing200Streams(b *testing.B) {
	benchPacing(b, 200)
}

// BenchmarkPacing1Stream is the same for media.quality's single stream.
func BenchmarkPacing1Stream(b *testing.B) {
	benchPacing(b, 1)
}

func benchPacing(b *testing.B, n int) {
	dst := startResponder(b)
	const dur = 2 * time.Second
	var late []float64
	var sent, recv int64
	for b.Loop() {
		streams := make([]*stream, n)
		for i := range streams {
			s, err := newStream(dst, int(dur/mediaInterval), mediaInterval)
			if err != nil {
				b.Fatal(err)
			}
			streams[i] = s
		}
		runStreams(context.Background(), streams, false)
		for _, s := range streams {
			for _, l := range s.late {
				late = append(late, float64(l)/1e6)
			}
			sent += s.sent.Load()
			recv += s.recv.Load()
			s.close()
		}
	}
	sort.Float64s(late)
	q := func(p float64) float64 { return late[min(len(late)-1, int(p*float64(len(late))))] }
	b.ReportMetric(q(0.50), "p50_send_late_ms")
	b.ReportMetric(q(0.95), "p95_send_late_ms")
	b.ReportMetric(q(0.999), "p999_send_late_ms")
	b.ReportMetric(q(0.99), "p99_send_late_ms")
	b.ReportMetric(late[len(late)-1], "max_send_late_ms")
	b.ReportMetric(float64(sent-recv)/float64(sent), "loss_ratio")
}
