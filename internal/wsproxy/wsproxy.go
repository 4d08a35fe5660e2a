// Package wsproxy is a small HTTP CONNECT proxy with the two WebSocket
// faults real proxies have, for tests (probe's and the network lab's,
// where `netlab wsproxy` runs it inside a namespace):
//
//   - Tunnel: a plain CONNECT tunnel; with Idle set it closes a tunnel
//     that carried no byte either way for that long (a proxy or firewall
//     idle timeout shorter than the CCP's 10 s heartbeat);
//   - StripUpgrade: a TLS-inspecting proxy: it answers CONNECT, terminates
//     TLS with Cert (a CA the clients trust, as a corporate inspection CA
//     is), and forwards each request upstream without its hop-by-hop
//     headers (Connection, Upgrade, …), as an HTTP/1.1 proxy that does not
//     support WebSocket does; a WebSocket server then answers 426.
//
// It is not API: internal, test-only, like internal/impair.
package wsproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how the proxy treats a tunnel.
type Mode int

// The modes (see the package doc).
const (
	Tunnel Mode = iota
	StripUpgrade
)

// Options configure Start.
type Options struct {
	Mode Mode
	// Idle, in Tunnel mode, closes a tunnel idle this long (0: never).
	Idle time.Duration
	// Cert is what StripUpgrade presents to clients for every name.
	Cert *tls.Certificate
	// RootCAs verify the upstream servers in StripUpgrade (nil: system).
	RootCAs *x509.CertPool
	// Resolver is a DNS server (host:port) for upstream names; "" uses the
	// system's.
	Resolver string
}

// Proxy is a running proxy. Close stops it and every tunnel.
type Proxy struct {
	// Addr is the listening address.
	Addr string
	o    Options
	ln   net.Listener
	dial net.Dialer

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	cuts  atomic.Int64
}

// Start listens on addr ("127.0.0.1:0") and serves until Close.
func Start(addr string, o Options) (*Proxy, error) {
	if o.Mode == StripUpgrade && o.Cert == nil {
		return nil, errors.New("wsproxy: StripUpgrade needs a certificate")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: ln.Addr().String(), o: o, ln: ln, conns: map[net.Conn]struct{}{}}
	p.dial.Timeout = 5 * time.Second
	if o.Resolver != "" {
		p.dial.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, o.Resolver)
		}}
	}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// IdleCuts is how many tunnels the proxy closed for being idle.
func (p *Proxy) IdleCuts() int64 { return p.cuts.Load() }

// Close stops listening, closes every connection and waits.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		if p.conns == nil {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c, true)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.track(c, false)
			defer c.Close()
			p.handle(c)
		}()
	}
}

func (p *Proxy) handle(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	target := req.Host
	switch p.o.Mode {
	case StripUpgrade:
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		p.inspect(c, br, target)
	default:
		up, err := p.dial.Dial("tcp", target)
		if err != nil {
			fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return
		}
		p.track(up, true)
		defer p.track(up, false)
		defer up.Close()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		p.splice(c, br, up)
	}
}

// splice copies both ways; with Idle set, it closes both ends once no
// byte has moved either way for Idle.
func (p *Proxy) splice(c net.Conn, br *bufio.Reader, up net.Conn) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var cut atomic.Bool
	done := make(chan struct{}, 2)
	cp := func(dst net.Conn, src io.Reader, srcConn net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			if p.o.Idle > 0 {
				_ = srcConn.SetReadDeadline(time.Unix(0, last.Load()).Add(p.o.Idle))
			}
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				var ne net.Error
				if p.o.Idle > 0 && errors.As(err, &ne) && ne.Timeout() {
					if time.Since(time.Unix(0, last.Load())) < p.o.Idle {
						continue // the other direction moved: not idle
					}
					cut.Store(true)
				}
				return
			}
		}
	}
	go cp(up, br, c)
	go cp(c, up, up)
	<-done
	if cut.Load() {
		p.cuts.Add(1)
	}
	c.Close()
	up.Close()
	<-done
}

// hopByHop are the headers an HTTP/1.1 proxy removes (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Upgrade", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Trailer"}

// inspect terminates TLS and forwards requests without hop-by-hop headers.
func (p *Proxy) inspect(c net.Conn, br *bufio.Reader, target string) {
	tc := tls.Server(&prefixed{Conn: c, r: br}, &tls.Config{Certificates: []tls.Certificate{*p.o.Cert}, NextProtos: []string{"http/1.1"}})
	defer tc.Close()
	host, _, _ := net.SplitHostPort(target)
	tr := &http.Transport{
		DialContext:     p.dial.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: p.o.RootCAs, ServerName: host},
	}
	defer tr.CloseIdleConnections()
	tbr := bufio.NewReader(tc)
	for {
		_ = tc.SetReadDeadline(time.Now().Add(30 * time.Second))
		req, err := http.ReadRequest(tbr)
		if err != nil {
			return
		}
		for _, f := range req.Header.Values("Connection") {
			for _, h := range strings.Split(f, ",") {
				req.Header.Del(textproto.TrimString(h))
			}
		}
		for _, h := range hopByHop {
			req.Header.Del(h)
		}
		req.URL.Scheme, req.URL.Host, req.RequestURI = "https", target, ""
		resp, err := tr.RoundTrip(req)
		if err != nil {
			io.WriteString(tc, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return
		}
		resp.Header.Set("Via", "1.1 wsproxy")
		err = resp.Write(tc)
		resp.Body.Close()
		if err != nil {
			return
		}
	}
}

// prefixed is a Conn whose first bytes were already buffered in r.
type prefixed struct {
	net.Conn
	r *bufio.Reader
}

func (c *prefixed) Read(b []byte) (int, error) { return c.r.Read(b) }
