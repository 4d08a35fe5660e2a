package rxstamp

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// TestStampBeforeRead: a datagram that waits in the socket buffer is
// stamped when it arrived, not when it was read.
func TestStampBeforeRead(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := New(c)
	if runtime.GOOS == "linux" && !rc.Stamped() {
		t.Fatal("no kernel timestamps on linux")
	}
	// Linux turns receive timestamping on for the system a moment after
	// the first socket asks (a deferred static key); until then the
	// kernel stamps at read time.
	time.Sleep(enableSettle)
	s, err := net.DialUDP("udp", nil, c.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sent := time.Now()
	s.Write([]byte("x"))
	time.Sleep(50 * time.Millisecond)
	_, _, at, err := rc.Read(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	d := at.Sub(sent)
	t.Logf("stamped %v after the send, read 50 ms later", d)
	if rc.Stamped() && (d < 0 || d > 10*time.Millisecond) {
		t.Fatalf("stamp %v after the send, want the arrival (< 10 ms)", d)
	}
}
