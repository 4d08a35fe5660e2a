package probe

import (
	"context"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestTCPConnectPasses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runProbe(t, tcpConnect, loopbackEnv(t), webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Pass, "", []string{"TCP", "opened to " + ln.Addr().String()}, nil)
	if r.Address != ln.Addr().String() {
		t.Errorf("address = %q", r.Address)
	}
}

func TestTCPConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(ln.Addr().String())
	ln.Close() // nothing listens there now: the kernel answers with a reset
	r := runProbe(t, tcpConnect, loopbackEnv(t), webEndpoint(rtcHost, port))
	wantResult(t, r, Fail, result.PhaseConnect, []string{"was refused", rtcHost}, []string{"allow outbound TCP " + strconv.Itoa(port) + " to " + rtcHost, "rejects"})
}

// fullBacklogListener returns a loopback address whose listen queue is
// full: further SYNs are dropped silently, the symptom of a firewall drop.
func fullBacklogListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skipf("raw socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for i := 0; i < 16; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			if i == 0 {
				t.Skipf("first connection to a fresh listener failed (%v): machine too loaded to tell", err)
			}
			return addr // the queue is full now
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill a listen backlog on this kernel: no silent TCP drop to test")
	return ""
}

func TestTCPConnectTimeout(t *testing.T) {
	addr := fullBacklogListener(t)
	env := loopbackEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	e := webEndpoint(rtcHost, portOf(addr))
	r := tcpConnect.Run(ctx, env, Target{Name: e.Addr(), Endpoint: e})
	wantResult(t, r, Fail, result.PhaseConnect, []string{"no answer from TCP", "silently drops"}, []string{"allow outbound TCP"})
}

func TestTCPConnectSkipsWhenDNSFails(t *testing.T) {
	noEnvProxy(t)
	s := startDNS(t, lab.DNSOptions{Mode: lab.DNSNXDomain})
	r := runProbe(t, tcpConnect, envFor(s.Addr), webEndpoint(rtcHost, 443))
	wantResult(t, r, Skip, result.PhaseResolve, []string{"did not resolve", "nxdomain"}, nil)
}
