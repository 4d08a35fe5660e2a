package probe

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Answer is the outcome of resolving one name.
type Answer struct {
	Addrs []netip.Addr
	// Err is nil on success; Kind classifies a failure: "nxdomain",
	// "servfail", "refused", "timeout", "nodata", "error".
	Err  error
	Kind string
	RTT  time.Duration
}

// Resolver resolves names once per run and shares the answer between
// probes. Server "" means the system resolver; else host:port asked directly.
type Resolver struct {
	Server string
	mu     sync.Mutex
	calls  map[string]*call
}

type call struct {
	done chan struct{}
	ans  Answer
}

// NewResolver returns a Resolver asking server ("" = system).
func NewResolver(server string) *Resolver {
	return &Resolver{Server: server, calls: map[string]*call{}}
}

// Lookup resolves host (A and AAAA); concurrent callers share one query.
// An IP literal is returned as is.
func (r *Resolver) Lookup(ctx context.Context, host string) Answer {
	if a, err := netip.ParseAddr(host); err == nil {
		return Answer{Addrs: []netip.Addr{a}}
	}
	r.mu.Lock()
	c, ok := r.calls[host]
	if !ok {
		c = &call{done: make(chan struct{})}
		r.calls[host] = c
		r.mu.Unlock()
		c.ans = r.query(ctx, host)
		close(c.done)
		return c.ans
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.ans
	case <-ctx.Done():
		return Answer{Err: ctx.Err(), Kind: "timeout"}
	}
}

// query is the uncached lookup. STUB: system resolver only.
func (r *Resolver) query(ctx context.Context, host string) Answer {
	start := time.Now()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	a := Answer{Addrs: ips, Err: err, RTT: time.Since(start)}
	if err != nil {
		a.Kind = "error"
	}
	return a
}
