package lab

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// DNSMode is how a lab DNS server answers.
type DNSMode int

// DNS answer modes, for testing every failure a resolver can show.
const (
	// DNSAnswer answers A/AAAA queries with DNSOptions.Addrs (default
	// 127.0.0.1); a name with no address of the asked family gets NOERROR
	// with no answer.
	DNSAnswer DNSMode = iota
	// DNSNXDomain answers "no such name" (rcode 3).
	DNSNXDomain
	// DNSServFail answers SERVFAIL (rcode 2).
	DNSServFail
	// DNSRefused answers REFUSED (rcode 5).
	DNSRefused
	// DNSSilent reads queries and never answers (a dropped path).
	DNSSilent
	// DNSNoData answers NOERROR with an empty answer section.
	DNSNoData
)

// DNSOptions configure StartDNS. The zero value answers every name with
// 127.0.0.1.
type DNSOptions struct {
	// Mode is how queries are answered.
	Mode DNSMode
	// Addrs are the addresses given for DNSAnswer: IPv4 ones in A answers,
	// IPv6 ones in AAAA. Empty means 127.0.0.1.
	Addrs []netip.Addr
	// PerName overrides Mode (and Addrs) for single names (any case, with
	// or without the final dot).
	PerName map[string]DNSReply
}

// DNSReply is how one name is answered (see DNSOptions.PerName).
type DNSReply struct {
	Mode  DNSMode
	Addrs []netip.Addr
}

// DNSServer is a DNS server over UDP on loopback. Close stops it.
type DNSServer struct {
	// Addr is 127.0.0.1:PORT, for Config.Resolver.
	Addr string
	srv  *dns.Server
	opts DNSOptions

	mu    sync.RWMutex
	names map[string]bool // when non-nil, other names get NXDOMAIN
	n     atomic.Int64
}

// StartDNS starts a DNS server on 127.0.0.1 (UDP, a free port) answering
// per opts, and returns once it is ready to answer.
func StartDNS(opts DNSOptions) (*DNSServer, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lab DNS listen: %w", err)
	}
	if len(opts.Addrs) == 0 {
		opts.Addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}
	per := map[string]DNSReply{}
	for k, v := range opts.PerName {
		per[dns.Fqdn(strings.ToLower(k))] = v
	}
	opts.PerName = per
	s := &DNSServer{Addr: pc.LocalAddr().String(), opts: opts}
	started := make(chan struct{})
	s.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: func() { close(started) }}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-errc:
		return nil, fmt.Errorf("lab DNS: %w", err)
	}
	return s, nil
}

// Only restricts the names the server knows: any other name gets
// NXDOMAIN. The lab calls it with the catalog's names.
func (s *DNSServer) Only(names ...string) {
	m := map[string]bool{}
	for _, n := range names {
		m[dns.Fqdn(strings.ToLower(n))] = true
	}
	s.mu.Lock()
	s.names = m
	s.mu.Unlock()
}

// Queries returns how many queries the server has received.
func (s *DNSServer) Queries() int { return int(s.n.Load()) }

// Close stops the server.
func (s *DNSServer) Close() error { return s.srv.Shutdown() }

func (s *DNSServer) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.n.Add(1)
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	reply := DNSReply{Mode: s.opts.Mode, Addrs: s.opts.Addrs}
	if r, ok := s.opts.PerName[name]; ok {
		reply = r
		if len(reply.Addrs) == 0 {
			reply.Addrs = s.opts.Addrs
		}
	}
	s.mu.RLock()
	if s.names != nil && !s.names[name] {
		reply.Mode = DNSNXDomain
	}
	s.mu.RUnlock()
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	switch reply.Mode {
	case DNSSilent:
		return
	case DNSNXDomain:
		m.Rcode = dns.RcodeNameError
	case DNSServFail:
		m.Rcode = dns.RcodeServerFailure
	case DNSRefused:
		m.Rcode = dns.RcodeRefused
	case DNSNoData:
	case DNSAnswer:
		hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
		for _, a := range reply.Addrs {
			switch {
			case q.Qtype == dns.TypeA && a.Is4():
				hdr.Rrtype = dns.TypeA
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
			case q.Qtype == dns.TypeAAAA && a.Is6() && !a.Is4In6():
				hdr.Rrtype = dns.TypeAAAA
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
			}
		}
	}
	_ = w.WriteMsg(m)
}
