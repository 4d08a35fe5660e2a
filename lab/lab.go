// Package lab starts, on loopback, the servers a check needs — two TURN
// servers (pion/turn), a DNS server (miekg/dns) answering the catalog's
// names with 127.0.0.1, and an HTTPS server with a CA made for the run —
// so that `check --lab` runs the real code paths without the internet.
//
// The pieces are exported for tests everywhere, so no test re-writes a
// server: NewCA and StartHTTPS (TLS with a certificate for any name, a Date
// header), StartDNS (answers, NXDOMAIN, SERVFAIL, REFUSED, silence, no
// data), StartTURN (static long-term credential, relays to loopback).
// Every server listens on 127.0.0.1 only and stops with Close.
package lab

import (
	"context"
	"errors"
	"io"
	"log"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/ranges"
)

// Lab is a set of running local servers. Close stops them all.
// The fields are for tests; the binary only calls Configure and Close.
type Lab struct {
	CA    *CA
	HTTPS *HTTPSServer
	DNS   *DNSServer
	// TURN are two servers, so that NAT mapping can compare two
	// destinations.
	TURN [2]*TURNServer

	stop      func() bool
	closeOnce sync.Once
	closeErr  error
}

// Start starts the lab servers; they run until Close or until ctx ends.
// On error nothing is left running.
func Start(ctx context.Context) (l *Lab, err error) {
	l = &Lab{}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()
	if l.CA, err = NewCA("ccp-preflight lab CA"); err != nil {
		return nil, err
	}
	if l.HTTPS, err = StartHTTPS(l.CA, nil); err != nil {
		return nil, err
	}
	if l.DNS, err = StartDNS(DNSOptions{}); err != nil {
		return nil, err
	}
	cred := TURNOptions{Password: randomSecret()} // one credential for both servers
	for i := range l.TURN {
		if l.TURN[i], err = StartTURN(cred); err != nil {
			return nil, err
		}
	}
	l.stop = context.AfterFunc(ctx, func() { l.Close() })
	return l, nil
}

// Configure points cfg at the lab. HTTPS and TURN endpoints keep their
// catalog names (the lab DNS answers exactly those with 127.0.0.1) but get
// the lab's ports: every HTTPS endpoint the HTTPS server's, the TURN
// endpoints the two TURN servers' in turn. It sets Resolver to the lab DNS,
// Roots to the lab CA only, Proxy to none, ICEServers to one entry with
// both TURN servers' URLs and the lab credential, and Ranges to a
// synthetic set (Source "lab") holding 127.0.0.0/8 for AMAZON_CONNECT, EC2
// and CLOUDFRONT. It also sets Lab, so probes expect loopback answers.
func (l *Lab) Configure(cfg *config.Config) {
	cfg.Lab = true
	var names []string
	for i := range cfg.HTTPS {
		cfg.HTTPS[i].Port = l.HTTPS.Port
		names = append(names, cfg.HTTPS[i].Host)
	}
	turn := make([]catalog.Endpoint, len(cfg.TURN)) // never write into the catalog's slice
	copy(turn, cfg.TURN)
	for i := range turn {
		turn[i].Port = l.TURN[i%len(l.TURN)].Port
		names = append(names, turn[i].Host)
	}
	cfg.TURN = turn
	l.DNS.Only(names...)
	cfg.Resolver = l.DNS.Addr
	cfg.Roots = l.CA.Pool()
	cfg.Proxy = nil
	t := l.TURN[0]
	cfg.ICEServers = []config.ICEServer{{
		URLs:     []string{l.TURN[0].URL(), l.TURN[1].URL()},
		Username: config.Secret(t.Username), Credential: config.Secret(t.Password),
	}}
	cfg.Ranges = Ranges()
}

// Ranges returns the lab's synthetic ranges set: Source "lab", created
// now, with 127.0.0.0/8 in GLOBAL for AMAZON_CONNECT, EC2 and CLOUDFRONT
// (and ::1/128 likewise).
func Ranges() *ranges.Set {
	now := time.Now().UTC().Truncate(time.Second)
	s := &ranges.Set{Source: "lab", CreateDate: now, SyncToken: strconv.FormatInt(now.Unix(), 10)}
	for _, p := range []string{"127.0.0.0/8", "::1/128"} {
		for _, svc := range []catalog.Service{catalog.AmazonConnect, catalog.EC2, catalog.CloudFront, "AMAZON"} {
			s.Prefixes = append(s.Prefixes, ranges.Prefix{Prefix: netip.MustParsePrefix(p), Region: "GLOBAL", Service: string(svc), NetworkBorderGroup: "GLOBAL"})
		}
	}
	return s
}

// Close stops every server the lab started. Safe to call more than once.
func (l *Lab) Close() error {
	if l == nil {
		return nil
	}
	l.closeOnce.Do(func() { l.closeErr = l.closeAll() })
	return l.closeErr
}

func (l *Lab) closeAll() error {
	if l.stop != nil {
		l.stop()
	}
	var errs []error
	if l.HTTPS != nil {
		errs = append(errs, l.HTTPS.Close())
	}
	if l.DNS != nil {
		errs = append(errs, l.DNS.Close())
	}
	for _, t := range l.TURN {
		if t != nil {
			errs = append(errs, t.Close())
		}
	}
	return errors.Join(errs...)
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
