package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// clockServer is a TLS server whose Date header is offset from now (nil
// offset: no Date header at all).
func clockServer(t *testing.T, offset *time.Duration) (*httptest.Server, catalog.Endpoint, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if offset == nil {
			w.Header()["Date"] = nil // suppress the automatic Date
		} else {
			w.Header().Set("Date", time.Now().Add(*offset).UTC().Format(http.TimeFormat))
		}
		w.WriteHeader(http.StatusForbidden) // any status carries a Date
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return srv, catalog.Endpoint{Host: "127.0.0.1", Port: port, Service: catalog.EC2}, roots
}

func runClock(t *testing.T, env *Env) Result {
	t.Helper()
	rs := Run(context.Background(), env, []Probe{envClock}, nil)
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	t.Logf("%+v", rs[0])
	return rs[0]
}

func clockOffset(d time.Duration) *time.Duration { return &d }

func TestEnvClockSkewFails(t *testing.T) {
	_, ep, roots := clockServer(t, clockOffset(30*time.Second))
	r := runClock(t, NewEnv(&config.Config{HTTPS: []catalog.Endpoint{ep}, Roots: roots, Timeout: 2 * time.Second}))
	if r.Status != Fail || r.Phase != result.PhaseClock {
		t.Fatalf("got %s/%q %q", r.Status, r.Phase, r.Reason)
	}
	if s := r.Metrics["skew_ms"]; s > -29000 || s < -31000 {
		t.Errorf("skew_ms %v, want about -30000 (this computer behind)", s)
	}
	if !strings.Contains(r.Reason, "behind") || !strings.Contains(r.Reason, "more than 10 s") {
		t.Errorf("reason %q", r.Reason)
	}
	if !strings.Contains(r.Remedy, "w32tm") || !strings.Contains(r.Remedy, "timedatectl set-ntp true") {
		t.Errorf("remedy %q", r.Remedy)
	}
	if r.Target != ep.Addr() {
		t.Errorf("target %q, want the endpoint read", r.Target)
	}
}

func TestEnvClockInSync(t *testing.T) {
	_, ep, roots := clockServer(t, clockOffset(0))
	r := runClock(t, NewEnv(&config.Config{HTTPS: []catalog.Endpoint{ep}, Roots: roots, Timeout: 2 * time.Second}))
	if r.Status != Pass {
		t.Fatalf("got %s %q", r.Status, r.Reason)
	}
	if s := r.Metrics["skew_ms"]; s > 1000 || s < -1000 {
		t.Errorf("skew_ms %v, want within ±1 s (Date has whole seconds)", s)
	}
}

// TestEnvClockPinnedClockWarns pins this computer's clock 5 s ahead.
func TestEnvClockPinnedClockWarns(t *testing.T) {
	_, ep, roots := clockServer(t, clockOffset(0))
	env := NewEnv(&config.Config{HTTPS: []catalog.Endpoint{ep}, Roots: roots, Timeout: 2 * time.Second})
	env.Now = func() time.Time { return time.Now().Add(5 * time.Second) }
	r := runClock(t, env)
	if r.Status != Warn || !strings.Contains(r.Reason, "ahead of") {
		t.Fatalf("got %s %q", r.Status, r.Reason)
	}
}

func TestEnvClockNoDateHeader(t *testing.T) {
	_, ep, roots := clockServer(t, nil)
	r := runClock(t, NewEnv(&config.Config{HTTPS: []catalog.Endpoint{ep}, Roots: roots, Timeout: 2 * time.Second}))
	if r.Status != Skip || !strings.Contains(r.Reason, "no Date header") {
		t.Fatalf("got %s %q", r.Status, r.Reason)
	}
}

// TestEnvClockFirstReachable skips a refusing endpoint and an untrusted
// one, and reads the next.
func TestEnvClockFirstReachable(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := catalog.Endpoint{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}
	l.Close()
	untrusted := clockUntrustedServer(t)
	_, ep, roots := clockServer(t, clockOffset(20*time.Second))
	r := runClock(t, NewEnv(&config.Config{HTTPS: []catalog.Endpoint{refused, untrusted, ep}, Roots: roots, Timeout: 3 * time.Second}))
	if r.Status != Fail || r.Target != ep.Addr() {
		t.Fatalf("got %s %q target %q", r.Status, r.Reason, r.Target)
	}
	// None reachable: a plain skip in plain words; why each failed is in
	// the details for IT, not raw Go errors in the reason.
	r = runClock(t, NewEnv(&config.Config{HTTPS: []catalog.Endpoint{refused, untrusted}, Roots: roots, Timeout: 2 * time.Second}))
	if r.Status != Skip || !strings.Contains(r.Reason, "none of the 2 HTTPS endpoints answered") || strings.Contains(r.Reason, "x509") ||
		!strings.Contains(r.Details["errors"], "refused") || !strings.Contains(r.Details["errors"], "certificate") {
		t.Fatalf("got %s %q, details %q", r.Status, r.Reason, r.Details)
	}
}

// TestEnvClockThroughProxy checks that the request goes through the
// configured proxy with CONNECT.
func TestEnvClockThroughProxy(t *testing.T) {
	_, ep, roots := clockServer(t, clockOffset(0))
	var connects atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		connects.Add(1)
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		c, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() { _, _ = io.Copy(up, buf); up.Close() }()
		_, _ = io.Copy(c, up)
		c.Close()
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	r := runClock(t, NewEnv(&config.Config{HTTPS: []catalog.Endpoint{ep}, Roots: roots, Proxy: pu, Timeout: 2 * time.Second}))
	if r.Status != Pass || connects.Load() != 1 {
		t.Fatalf("got %s %q, %d CONNECTs", r.Status, r.Reason, connects.Load())
	}
}

// clockUntrustedServer serves TLS with a self-signed certificate made here,
// which no configured root trusts.
func clockUntrustedServer(t *testing.T) catalog.Endpoint {
	t.Helper()
	ca, err := lab.NewCA("Corp Inspection CA") // in no configured root pool
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return catalog.Endpoint{Host: "127.0.0.1", Port: srv.Listener.Addr().(*net.TCPAddr).Port}
}
