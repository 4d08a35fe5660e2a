package probe

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
)

func TestResolverSharesOneQueryPerName(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{})
	res := NewResolver(s.Addr)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			a := res.Lookup(context.Background(), "Name.Example")
			if a.Err != nil || len(a.Addrs) != 1 {
				t.Errorf("lookup = %+v", a)
			}
		})
	}
	wg.Wait()
	res.Lookup(context.Background(), "name.example.")
	if got := s.Queries(); got != 2 { // one A and one AAAA
		t.Errorf("server saw %d queries, want 2 (one A, one AAAA) for 21 lookups", got)
	}
}

func TestResolverCancelledCallerDoesNotPoisonCache(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{})
	res := NewResolver(s.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if a := res.Lookup(ctx, "a.example"); a.Err == nil || a.Kind != DNSCancelled {
		t.Fatalf("cancelled lookup = %+v, want a cancelled failure", a)
	}
	a := res.Lookup(context.Background(), "a.example")
	if a.Err != nil || len(a.Addrs) == 0 {
		t.Fatalf("lookup after a cancelled one = %+v, want an answer", a)
	}
}

func TestResolverWaiterRetriesWhenFirstCallerGivesUp(t *testing.T) {
	// The first caller's short deadline ends while the server is silent;
	// a second caller with time left must not inherit that failure.
	silent := startDNS(t, lab.DNSOptions{Mode: lab.DNSSilent})
	res := NewResolver(silent.Addr)
	ctx1, cancel1 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel1()
	done := make(chan Answer)
	go func() { done <- res.Lookup(ctx1, "b.example") }()
	time.Sleep(10 * time.Millisecond)
	a2 := res.Lookup(context.Background(), "b.example")
	a1 := <-done
	if a1.Kind != DNSTimeout {
		t.Errorf("first caller: %+v, want timeout", a1)
	}
	if a2.Kind != DNSTimeout || a2.RTT < resolveTimeout-100*time.Millisecond {
		t.Errorf("second caller: kind %q after %v, want its own full timeout (%v)", a2.Kind, a2.RTT, resolveTimeout)
	}
}

func TestResolverIPLiteral(t *testing.T) {
	a := NewResolver("").Lookup(context.Background(), "192.0.2.1")
	if a.Err != nil || len(a.Addrs) != 1 || a.Addrs[0].String() != "192.0.2.1" {
		t.Fatalf("literal = %+v", a)
	}
}

func TestResolverSystemHostsFile(t *testing.T) {
	// "localhost" comes from /etc/hosts (or Go's built-in loopback rule):
	// no packet leaves this computer.
	a := NewResolver("").Lookup(context.Background(), "localhost")
	if a.Err != nil || len(a.Addrs) == 0 || !a.Addrs[0].IsLoopback() || a.Server != "system resolver" {
		t.Fatalf("system lookup of localhost = %+v", a)
	}
}
