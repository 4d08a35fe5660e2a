//go:build linux

package netlab

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/safefile"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/miekg/dns"
)

// labdTTL is the TTL of the lab's DNS answers (short: faults switch often).
const labdTTL = 5

// Labd runs the cloud's DNS server (DNS:53, UDP and TCP), HTTPS
// endpoints (Web:443, Hijacked:443 and Signal:443, each also a WebSocket
// endpoint) and a plain HTTP file server (Web:80, the files of dir/www:
// PAC files) from the files in dir, reloading
// labd.json on SIGHUP, until ctx ends or SIGTERM. It writes dir/labd.ready
// once everything listens. Run it inside the cloud namespace.
func Labd(ctx context.Context, dir string) error {
	d := &labd{dir: dir}
	if err := d.load(); err != nil {
		return err
	}
	web, err := tls.LoadX509KeyPair(filepath.Join(dir, "web.pem"), filepath.Join(dir, "web.key"))
	if err != nil {
		return fmt.Errorf("labd: %w", err)
	}
	rogue, err := tls.LoadX509KeyPair(filepath.Join(dir, "rogue.pem"), filepath.Join(dir, "rogue.key"))
	if err != nil {
		return fmt.Errorf("labd: %w", err)
	}
	tcfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if d.state().Intercept {
			return &rogue, nil
		}
		return &web, nil
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "ccp-preflight lab: %s\n", r.Host)
	})
	// Every path is also a real WebSocket endpoint (the CCP's signaling).
	ws := lab.NewWebSocket(mux)
	defer ws.Close()
	var srvs []*http.Server
	for _, ip := range []string{Web, Hijacked, Signal} {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "443"))
		if err != nil {
			return fmt.Errorf("labd: %w", err)
		}
		s := &http.Server{Handler: ws, TLSConfig: tcfg, ReadHeaderTimeout: 5 * time.Second,
			ErrorLog: log.New(os.Stderr, "labd https: ", 0)}
		srvs = append(srvs, s)
		go s.ServeTLS(ln, "", "")
	}
	// Plain HTTP on Web:80 serves the files of dir/www: PAC files and
	// WPAD's wpad.dat (as a corporate web server does).
	www := filepath.Join(dir, DirWWW)
	if err := os.MkdirAll(www, 0o755); err != nil {
		return fmt.Errorf("labd: %w", err)
	}
	ln80, err := net.Listen("tcp", net.JoinHostPort(Web, "80"))
	if err != nil {
		return fmt.Errorf("labd: %w", err)
	}
	files := &http.Server{Handler: http.FileServer(http.Dir(www)), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(os.Stderr, "labd http: ", 0)}
	srvs = append(srvs, files)
	go files.Serve(ln80)
	if err := d.applyDNS(); err != nil {
		return err
	}
	d.applied()
	if err := os.WriteFile(filepath.Join(dir, "labd.ready"), []byte("ok\n"), 0o644); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
	for {
		select {
		case <-ctx.Done():
			d.stopDNS()
			return nil
		case s := <-sigs:
			if s != syscall.SIGHUP {
				d.stopDNS()
				for _, srv := range srvs {
					srv.Close()
				}
				return nil
			}
			if err := d.load(); err != nil {
				log.Printf("labd: reload: %v", err)
				continue
			}
			if err := d.applyDNS(); err != nil {
				log.Printf("labd: %v", err)
				continue
			}
			d.applied()
			log.Printf("labd: reloaded %s (gen %d)", FileLabdState, d.state().Gen)
		}
	}
}

type labd struct {
	dir string
	mu  sync.Mutex
	st  LabdState
	dns []*dns.Server
}

func (d *labd) load() error {
	b, err := os.ReadFile(filepath.Join(d.dir, FileLabdState))
	if err != nil {
		return fmt.Errorf("labd: %w", err)
	}
	var s LabdState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("labd: %s: %w", FileLabdState, err)
	}
	d.mu.Lock()
	d.st = s
	d.mu.Unlock()
	return nil
}

// applied tells WriteLabdState which state is in force: the Gen of the
// state loaded, in labd.applied (written atomically).
func (d *labd) applied() {
	if err := safefile.Replace(filepath.Join(d.dir, fileLabdApplied), []byte(strconv.FormatInt(d.state().Gen, 10)+"\n"), 0o644, false); err != nil {
		log.Printf("labd: %v", err)
	}
}

func (d *labd) state() LabdState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

// applyDNS starts or stops the DNS servers to match DNSDown.
func (d *labd) applyDNS() error {
	if d.state().DNSDown {
		d.stopDNS()
		return nil
	}
	if d.dns != nil {
		return nil
	}
	addr := net.JoinHostPort(DNS, "53")
	for _, netw := range []string{"udp", "tcp"} {
		started := make(chan struct{})
		s := &dns.Server{Addr: addr, Net: netw, Handler: dns.HandlerFunc(d.answer),
			NotifyStartedFunc: func() { close(started) }}
		errc := make(chan error, 1)
		go func() { errc <- s.ListenAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			return fmt.Errorf("labd: dns %s %s: %w", netw, addr, err)
		case <-time.After(5 * time.Second):
			return fmt.Errorf("labd: dns %s %s did not start", netw, addr)
		}
		d.dns = append(d.dns, s)
	}
	return nil
}

func (d *labd) stopDNS() {
	for _, s := range d.dns {
		s.Shutdown()
	}
	d.dns = nil
}

// answer serves A queries from the zone (with hijacks and NXDOMAINs
// applied); AAAA gets an empty answer for a known name.
func (d *labd) answer(w dns.ResponseWriter, r *dns.Msg) {
	st := d.state()
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	addr, known := st.Zone[name]
	if h, ok := st.Hijack[name]; ok {
		addr, known = h, true
	}
	for _, n := range st.NXDomain {
		if n == name {
			known = false
		}
	}
	if !known {
		m.Rcode = dns.RcodeNameError
		w.WriteMsg(m)
		return
	}
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: labdTTL},
			A:   net.ParseIP(addr).To4(),
		})
	}
	w.WriteMsg(m)
}
