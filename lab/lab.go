// Package lab starts, on loopback, the servers a check needs — two TURN
// servers (pion/turn), a DNS server (miekg/dns) answering the catalog's
// names with 127.0.0.1, and an HTTPS server with a CA made for the run —
// so that `check --lab` runs the real code paths without the internet. The
// HTTPS server is also a real WebSocket endpoint (WebSocketServer).
// Unlike netlab (root-only network namespaces with real coturn and an
// impairment bridge, docs/LAB.md), lab is in-process loopback servers for
// `check --lab` and tests, with no privileges.
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
// The fields are for tests; the binary only calls Targets, Answer and
// Close.
type Lab struct {
	CA    *CA
	HTTPS *HTTPSServer
	// WS is the HTTPS server's handler: a WebSocket endpoint on every
	// path (the CCP's signaling, signaling.websocket), 204 for the rest.
	WS  *WebSocketServer
	DNS *DNSServer
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
	l.WS = NewWebSocket(nil)
	if l.HTTPS, err = StartHTTPS(l.CA, l.WS); err != nil {
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

// Targets are the lab's servers as config.Targets, for building a Config
// that checks the lab (config.Overrides.Targets; preflight.Build does it
// for `check --lab`): every HTTPS endpoint gets the HTTPS server's port,
// the TURN endpoints the two TURN servers' ports in turn (their names stay:
// the lab DNS answers them with 127.0.0.1), Resolver is the lab DNS, Roots
// the lab CA only, ICEServers one entry with both TURN servers' URLs and
// the lab credential, and Ranges the synthetic set of Ranges. Call Answer
// with the built Config so the lab DNS knows its names.
func (l *Lab) Targets() *config.Targets {
	t := l.TURN[0]
	return &config.Targets{
		HTTPSPort: l.HTTPS.Port,
		TURNPorts: []int{l.TURN[0].Port, l.TURN[1].Port},
		Resolver:  l.DNS.Addr,
		Roots:     l.CA.Pool(),
		ICEServers: []config.ICEServer{{
			URLs:     []string{l.TURN[0].URL(), l.TURN[1].URL()},
			Username: config.Secret(t.Username), Credential: config.Secret(t.Password),
		}},
		Ranges: Ranges(),
	}
}

// Answer makes the lab DNS answer exactly cfg's HTTPS, signaling and TURN names (with
// 127.0.0.1) and NXDOMAIN for every other name. It reads cfg, never writes
// it; call it once cfg is built with Targets, before the run.
func (l *Lab) Answer(cfg *config.Config) {
	var names []string
	for _, e := range cfg.HTTPS {
		names = append(names, e.Host)
	}
	for _, e := range cfg.TURN {
		names = append(names, e.Host)
	}
	for _, s := range cfg.Signaling {
		names = append(names, s.Endpoint.Host)
	}
	for _, e := range cfg.Latency {
		names = append(names, e.Host)
	}
	l.DNS.Only(names...)
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
	if l.WS != nil {
		l.WS.Close() // hijacked sockets: the HTTP server's Close does not end them
	}
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
