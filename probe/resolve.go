package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DNS time limits. A healthy resolver answers in well under 100 ms; the
// limits only bound how long a silent or broken one can hold a check up.
const (
	// dnsAttemptTimeout is one UDP exchange with a configured server: a
	// lost datagram is retried once after this long, as stub resolvers do.
	dnsAttemptTimeout = 750 * time.Millisecond
	// dnsAttempts is how many UDP exchanges are tried per query type.
	dnsAttempts = 2
	// resolveTimeout bounds one name's whole lookup (A and AAAA asked in
	// parallel, with retries), for the system resolver too.
	resolveTimeout = dnsAttemptTimeout*dnsAttempts + 100*time.Millisecond
)

// Answer kinds: why a lookup failed, because the remedy differs.
const (
	DNSNXDomain  = "nxdomain"  // the name does not exist (authoritative "no such name")
	DNSServFail  = "servfail"  // the resolver could not get an answer upstream
	DNSRefused   = "refused"   // the resolver refused to answer this client or name
	DNSTimeout   = "timeout"   // no answer before the time limit
	DNSNoData    = "nodata"    // the name exists but has no A or AAAA record
	DNSCancelled = "cancelled" // the caller gave up (interrupted run)
	DNSMismatch  = "mismatch"  // the only answers were records for another name (spoofing or a broken resolver)
	DNSError     = "error"     // anything else (unreachable resolver, malformed answer)
)

// Answer is the outcome of resolving one name.
type Answer struct {
	// Addrs are the A then AAAA addresses, in the order answered.
	Addrs []netip.Addr
	// Err is nil on success; Kind classifies a failure: DNSNXDomain,
	// DNSServFail, DNSRefused, DNSTimeout, DNSNoData, DNSCancelled, DNSError.
	Err  error
	Kind string
	// RTT is how long the lookup took (the slower of A and AAAA).
	RTT time.Duration
	// Server is who answered: "system resolver" or the host:port asked.
	Server string
	// Foreign are the answer records that were not for the name asked nor
	// for a name of its CNAME chain, as text ("evil.example. A 203.0.113.9"),
	// or a note that the answer's question was another one. They were
	// ignored (Addrs holds none of them): a spoofed answer or a broken
	// resolver. Only a configured resolver, asked directly, shows them; the
	// system resolver hands over addresses only.
	Foreign []string
}

// Resolver resolves names once per run and shares the answer between
// probes. Server "" means the system resolver; else host:port asked
// directly with miekg/dns (A and AAAA over UDP, TCP when truncated).
// Safe for concurrent use; the zero value is not usable (use NewResolver).
type Resolver struct {
	Server string
	mu     sync.Mutex
	calls  map[string]*call
}

type call struct {
	done chan struct{}
	ans  Answer
	// abandoned is set when the caller that ran the query gave up (its
	// ctx ended) before an answer: the result is not cached, and waiters
	// whose own ctx is still alive ask again.
	abandoned bool
}

// NewResolver returns a Resolver asking server ("" = system).
func NewResolver(server string) *Resolver {
	return &Resolver{Server: server, calls: map[string]*call{}}
}

// Lookup resolves host (A and AAAA); concurrent callers share one query
// and later callers get the cached Answer. An IP literal is returned as is.
// An answer cut short by the caller's own ctx is returned to that caller
// only and never cached, so one cancelled probe does not poison the name
// for the others. The lookup takes at most resolveTimeout.
func (r *Resolver) Lookup(ctx context.Context, host string) Answer {
	host = strings.TrimSuffix(host, ".")
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return Answer{Addrs: []netip.Addr{a}, Server: "literal"}
	}
	key := strings.ToLower(host)
	for {
		r.mu.Lock()
		c, ok := r.calls[key]
		if !ok {
			c = &call{done: make(chan struct{})}
			r.calls[key] = c
			r.mu.Unlock()
			ans := r.query(ctx, host)
			if ans.Err != nil && gaveUp(ctx) {
				r.mu.Lock()
				if r.calls[key] == c {
					delete(r.calls, key)
				}
				c.abandoned = true
				r.mu.Unlock()
			}
			c.ans = ans
			close(c.done)
			return ans
		}
		r.mu.Unlock()
		select {
		case <-c.done:
			if c.abandoned && !gaveUp(ctx) {
				continue // the first asker gave up; ask again for ourselves
			}
			return c.ans
		case <-ctx.Done():
			return ctxAnswer(ctx.Err(), r.serverName())
		}
	}
}

// gaveUp reports whether ctx has ended or reached its deadline. The
// deadline is checked too because a socket deadline taken from ctx can
// fire a moment before ctx itself is marked done.
func gaveUp(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

func ctxAnswer(err error, server string) Answer {
	kind := DNSTimeout
	if errors.Is(err, context.Canceled) {
		kind = DNSCancelled
	}
	return Answer{Err: err, Kind: kind, Server: server}
}

func (r *Resolver) serverName() string {
	if r.Server == "" {
		return "system resolver"
	}
	return r.Server
}

// query is the uncached lookup, bounded by resolveTimeout.
func (r *Resolver) query(ctx context.Context, host string) Answer {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	start := time.Now()
	var a Answer
	if r.Server == "" {
		a = systemQuery(ctx, host)
	} else {
		a = directQuery(ctx, r.Server, host)
	}
	a.RTT = time.Since(start)
	a.Server = r.serverName()
	return a
}

// systemResolver is the operating system's resolver; tests replace it
// with one whose server is a lab DNS server.
var systemResolver = net.DefaultResolver

// systemQuery asks the operating system's resolver (Go's resolver or the
// C library, as net.DefaultResolver picks).
func systemQuery(ctx context.Context, host string) Answer {
	ips, err := systemResolver.LookupNetIP(ctx, "ip", host)
	if err == nil {
		for i := range ips {
			ips[i] = ips[i].Unmap()
		}
		if len(ips) == 0 {
			return Answer{Err: fmt.Errorf("%s has no A or AAAA record", host), Kind: DNSNoData}
		}
		return Answer{Addrs: ips}
	}
	a := Answer{Err: err, Kind: DNSError}
	var de *net.DNSError
	switch {
	case ctx.Err() != nil:
		return ctxAnswer(ctx.Err(), "")
	case errors.As(err, &de) && de.IsNotFound:
		// Go reports both NXDOMAIN and "no such host" without records as
		// IsNotFound; the system resolver does not say which.
		a.Kind = DNSNXDomain
	case errors.As(err, &de) && de.IsTimeout:
		a.Kind = DNSTimeout
	case errors.As(err, &de) && strings.Contains(de.Err, "server misbehaving"):
		// Go's resolver reports SERVFAIL and REFUSED alike; dns.resolve
		// says so (a configured resolver, asked directly, tells them apart).
		a.Kind = DNSServFail
	case errors.As(err, &de) && strings.Contains(de.Err, "refused"):
		a.Kind = DNSRefused
	}
	return a
}

// directQuery asks server for A and AAAA in parallel.
func directQuery(ctx context.Context, server, host string) Answer {
	types := []uint16{dns.TypeA, dns.TypeAAAA}
	out := make([]exchanged, len(types))
	var wg sync.WaitGroup
	for i, qt := range types {
		wg.Go(func() { out[i] = exchange(ctx, server, host, qt) })
	}
	wg.Wait()
	var a Answer
	for _, o := range out {
		a.Addrs = append(a.Addrs, o.addrs...)
		a.Foreign = append(a.Foreign, o.foreign...)
	}
	if len(a.Addrs) > 0 {
		return a // one family answering is enough
	}
	if len(a.Foreign) > 0 {
		return Answer{Err: fmt.Errorf("%s: %s answered only with records for another name: %s", host, server, strings.Join(a.Foreign, "; ")),
			Kind: DNSMismatch, Foreign: a.Foreign}
	}
	// No address: report the most telling failure, A's first.
	for _, o := range out {
		switch {
		case o.err == nil && o.rcode == dns.RcodeNameError:
			return Answer{Err: fmt.Errorf("%s: NXDOMAIN (no such name) from %s", host, server), Kind: DNSNXDomain}
		case o.err == nil && o.rcode == dns.RcodeServerFailure:
			return Answer{Err: fmt.Errorf("%s: SERVFAIL from %s", host, server), Kind: DNSServFail}
		case o.err == nil && o.rcode == dns.RcodeRefused:
			return Answer{Err: fmt.Errorf("%s: REFUSED by %s", host, server), Kind: DNSRefused}
		case o.err == nil && o.rcode != dns.RcodeSuccess:
			return Answer{Err: fmt.Errorf("%s: %s from %s", host, dns.RcodeToString[o.rcode], server), Kind: DNSError}
		}
	}
	for _, o := range out {
		if o.err != nil {
			if ctx.Err() != nil {
				return ctxAnswer(ctx.Err(), "")
			}
			switch Classify(o.err) {
			case KindTimeout:
				return Answer{Err: o.err, Kind: DNSTimeout}
			case KindRefused:
				// ICMP port unreachable: nothing listens on the DNS port.
				return Answer{Err: fmt.Errorf("nothing answers DNS at %s (port unreachable): %w", server, o.err), Kind: DNSError}
			}
			return Answer{Err: o.err, Kind: DNSError}
		}
	}
	return Answer{Err: fmt.Errorf("%s exists but has no A or AAAA record (at %s)", host, server), Kind: DNSNoData}
}

// exchanged is the outcome of one query type.
type exchanged struct {
	addrs   []netip.Addr
	foreign []string
	rcode   int
	err     error
}

// exchange sends one query over UDP with retries (TCP when truncated) and
// returns the addresses of type qt owned by host or its CNAME chain
// (ownedAnswers), the records for other names, and the rcode.
func exchange(ctx context.Context, server, host string, qt uint16) exchanged {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(host), qt)
	m.SetEdns0(1232, false)
	c := &dns.Client{Net: "udp", Timeout: dnsAttemptTimeout}
	var (
		in  *dns.Msg
		err error
	)
	for i := 0; i < dnsAttempts; i++ {
		in, err = exchangeOnce(ctx, c, m, server)
		if err == nil || ctx.Err() != nil || Classify(err) != KindTimeout {
			break
		}
	}
	if err == nil && in.Truncated {
		tc := &dns.Client{Net: "tcp", Timeout: dnsAttemptTimeout}
		in, err = exchangeOnce(ctx, tc, m, server)
	}
	if err != nil {
		return exchanged{err: err}
	}
	if len(in.Question) > 0 && (!strings.EqualFold(in.Question[0].Name, m.Question[0].Name) || in.Question[0].Qtype != qt) {
		// An answer to another question (a cache returning the wrong
		// entry, or a forged reply that matched only the ID and port).
		q := in.Question[0]
		var foreign []string
		for _, rr := range in.Answer {
			foreign = append(foreign, rrText(rr))
		}
		foreign = append(foreign, fmt.Sprintf("(the reply was to the question %s %s)", q.Name, dns.TypeToString[q.Qtype]))
		return exchanged{foreign: foreign, rcode: in.Rcode}
	}
	addrs, foreign := ownedAnswers(m.Question[0].Name, qt, in.Answer)
	return exchanged{addrs: addrs, foreign: foreign, rcode: in.Rcode}
}

// maxCNAMEChain bounds how many CNAME links ownedAnswers follows.
const maxCNAMEChain = 8

// ownedAnswers returns the addresses of type qt among rrs whose owner is
// qname or a name qname's CNAME chain leads to (as a stub resolver
// accepts them), and as text every record whose owner is neither: a
// resolver answering "evil.example. A …" to a question about a Connect
// name must not make that name resolve there. Owner names compare
// case-insensitively.
func ownedAnswers(qname string, qt uint16, rrs []dns.RR) (addrs []netip.Addr, foreign []string) {
	owners := map[string]bool{strings.ToLower(dns.Fqdn(qname)): true}
	for range maxCNAMEChain {
		grew := false
		for _, rr := range rrs {
			if cn, ok := rr.(*dns.CNAME); ok && owners[strings.ToLower(cn.Hdr.Name)] && !owners[strings.ToLower(dns.Fqdn(cn.Target))] {
				owners[strings.ToLower(dns.Fqdn(cn.Target))] = true
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	for _, rr := range rrs {
		h := rr.Header()
		if h == nil {
			continue
		}
		if !owners[strings.ToLower(h.Name)] {
			if h.Rrtype != dns.TypeOPT && h.Rrtype != dns.TypeRRSIG {
				foreign = append(foreign, rrText(rr))
			}
			continue
		}
		switch v := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(v.A.To4()); ok && qt == dns.TypeA {
				addrs = append(addrs, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(v.AAAA); ok && qt == dns.TypeAAAA && len(v.AAAA) == net.IPv6len {
				addrs = append(addrs, a.Unmap())
			}
		}
	}
	return addrs, foreign
}

// rrText is a record as "owner TYPE data" ("evil.example. A 203.0.113.9"),
// without TTL and class; at most 200 characters (a server chose it).
func rrText(rr dns.RR) string {
	h := rr.Header()
	data := strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
	s := h.Name + " " + dns.TypeToString[h.Rrtype] + " " + data
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// exchangeOnce is one exchange that, unlike miekg/dns's ExchangeContext
// (which only honours the deadline), also ends when ctx is cancelled.
func exchangeOnce(ctx context.Context, c *dns.Client, m *dns.Msg, server string) (*dns.Msg, error) {
	co, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	stop := context.AfterFunc(ctx, func() { _ = co.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	in, _, err := c.ExchangeWithConnContext(ctx, m, co)
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return in, err
}

// preferIPv4 returns the first IPv4 address of as (unmapped), else the
// first address: the CCP's TURN URLs are used over IPv4. as must not be
// empty.
func preferIPv4(as []netip.Addr) netip.Addr {
	for _, a := range as {
		if a.Unmap().Is4() {
			return a.Unmap()
		}
	}
	return as[0]
}
