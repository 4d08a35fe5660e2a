package probe

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// startTLS starts a lab HTTPS server whose CA is named caName.
func startTLS(t *testing.T, caName string) (*lab.CA, *lab.HTTPSServer) {
	t.Helper()
	ca, err := lab.NewCA(caName)
	if err != nil {
		t.Fatal(err)
	}
	s, err := lab.StartHTTPS(ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return ca, s
}

func TestTLSUnknownIssuerIsInspection(t *testing.T) {
	_, s := startTLS(t, "Corp Proxy CA")
	other, err := lab.NewCA("the CA this computer trusts")
	if err != nil {
		t.Fatal(err)
	}
	env := loopbackEnv(t)
	env.Cfg.Roots = other.Pool()
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, s.Port))
	wantResult(t, r, Fail, result.PhaseVerify,
		[]string{`issued by "Corp Proxy CA"`, "does not trust", "likely TLS inspection"},
		[]string{"exempt " + rtcHost + " from TLS inspection", `"Corp Proxy CA"`, "ca_files"})
	if r.Details["issuer"] != `"Corp Proxy CA"` {
		t.Errorf("issuer detail = %q", r.Details["issuer"])
	}
}

func TestTLSTrustedOnlyViaAddedCAWarns(t *testing.T) {
	ca, s := startTLS(t, "Corp Proxy CA")
	env := loopbackEnv(t)
	env.Cfg.Roots = ca.Pool() // as if added with ca_files
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, s.Port))
	wantResult(t, r, Warn, result.PhaseVerify, []string{`issued by "Corp Proxy CA"`, "only through a CA added with ca_files", "TLS inspection"}, []string{"exempt " + rtcHost})
}

func TestTLSLabPasses(t *testing.T) {
	ca, s := startTLS(t, "ccp-preflight lab CA")
	env := loopbackEnv(t)
	env.Cfg.Roots = ca.Pool()
	env.Cfg.Lab = true
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, s.Port))
	wantResult(t, r, Pass, "", []string{"TLS 1.3 with " + rtcHost, "verified"}, nil)
	if r.Details["sni"] != rtcHost || r.Details["tls_version"] != "TLS 1.3" || r.Details["issuer"] == "" {
		t.Errorf("details = %v", r.Details)
	}
}

func TestTLSWrongNameIsSomethingElse(t *testing.T) {
	ca, err := lab.NewCA("ccp-preflight lab CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("portal.example")
	if err != nil {
		t.Fatal(err)
	}
	ln := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{*cert}}, func(c *tls.Conn) { _ = c.Handshake(); c.Close() })
	env := loopbackEnv(t)
	env.Cfg.Roots = ca.Pool()
	env.Cfg.Lab = true
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Fail, result.PhaseVerify, []string{"names portal.example, not " + rtcHost, "captive portal"}, []string{"allow outbound TCP"})
}

// TestTLSSilentServerTimesOut: a server that accepts TCP and never says a
// word fails, after the CCP's own 10 s, naming the wait.
func TestTLSSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acceptEach(t, ln, func(net.Conn) {}) // accepted, never answered
	r := runProbe(t, tlsHandshake, loopbackEnv(t), webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Fail, result.PhaseTLS, []string{"nothing answered the TLS handshake within 10s", "the CCP gives up", "without speaking TLS"}, []string{"allow outbound TCP"})
	if r.Metrics["handshake_ms"] < 10000 {
		t.Errorf("gave up after %v ms, before the CCP would (10 s)", r.Metrics["handshake_ms"])
	}
}

func TestTLSSkipsWhenTCPFails(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := portOf(ln.Addr().String())
	ln.Close()
	r := runProbe(t, tlsHandshake, loopbackEnv(t), webEndpoint(rtcHost, port))
	wantResult(t, r, Skip, result.PhaseConnect, []string{"not tested", "see tcp.connect"}, nil)
}

// TestTLSSlowServerWarns: a TLS server that takes 2.5 s before its
// ServerHello — as an inspection proxy minting a certificate for each name
// does — completes a handshake a browser waits for. Before the fix it was
// FAIL "no TLS answer came within 1.5s: … does not speak TLS".
func TestTLSSlowServerWarns(t *testing.T) {
	ca, err := lab.NewCA("ccp-preflight lab CA")
	if err != nil {
		t.Fatal(err)
	}
	const mint = 2500 * time.Millisecond
	ln := serveTLS(t, &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		time.Sleep(mint) // minting a certificate for hello.ServerName
		return ca.Issue(hello.ServerName)
	}}, func(c *tls.Conn) { _ = c.Handshake(); time.Sleep(100 * time.Millisecond); c.Close() })
	env := loopbackEnv(t)
	env.Cfg.Roots, env.Cfg.Lab = ca.Pool(), true
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Warn, result.PhaseTLS, []string{"TLS with " + rtcHost + " completed", "handshake took", "TLS-inspecting proxy"}, []string{"exempt " + rtcHost})
	if hs, first := r.Metrics["handshake_ms"], r.Metrics["first_answer_ms"]; hs < float64(mint/time.Millisecond) || first < float64(mint/time.Millisecond) {
		t.Errorf("handshake %v ms, first answer %v ms; the server held it %v", hs, first, mint)
	}
	if r.Details["slow_handshake"] == "" || r.Details["tls_version"] == "" {
		t.Errorf("details %v", r.Details)
	}
}

// rawServer accepts on loopback and answers every connection with answer
// (after reading the client's first bytes), then closes it.
func rawServer(t *testing.T, answer func(c net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acceptEach(t, ln, func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		answer(c)
	})
	return portOf(ln.Addr().String())
}

// TestTLSPortalAndOtherAnswers: what answers port 443 instead of TLS is
// named. Before the fix a captive portal's plain-HTTP redirect on 443 was
// "TLS handshake … failed: tls: first record does not look like a TLS
// handshake", with a TLS-inspection remedy.
func TestTLSPortalAndOtherAnswers(t *testing.T) {
	readHello := func(c net.Conn) { _, _ = c.Read(make([]byte, 2048)) }
	for _, tc := range []struct {
		name           string
		answer         func(net.Conn)
		reason, remedy []string
		details        map[string]string
	}{
		{"captive portal redirect", func(c net.Conn) {
			readHello(c)
			// Status line and headers in two writes, as a slow portal might.
			c.Write([]byte("HTTP/1.1 302 Found\r\n"))
			time.Sleep(50 * time.Millisecond)
			c.Write([]byte("Location: http://portal.example.net:8080/login?next=https%3A%2F%2Fx\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		}, []string{"plain HTTP server answered on port", `"HTTP/1.1 302 Found"`, "redirecting to portal.example.net", "captive portal"},
			[]string{"sign in to the network's portal (open http://portal.example.net/ in a browser)"},
			map[string]string{"location_host": "portal.example.net"}},
		{"real Go HTTP server on the port", nil, []string{`"HTTP/1.1 400 Bad Request"`, "captive portal, web filter or transparent proxy"},
			[]string{"sign in to the network's portal if it has one"}, nil},
		{"ssh banner", func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")); readHello(c) },
			[]string{"not a TLS server answered", `"SSH-2.0-OpenSSH_9.2p1 Debian-2"`}, []string{"see dns.resolve"}, nil},
		{"binary", func(c net.Conn) { readHello(c); c.Write([]byte{0, 1, 2, 3, 0xff, 0xfe, 7, 8, 9}) },
			[]string{"9 bytes that are not TLS (starting 00 01 02 03 ff fe 07 08)"}, nil, nil},
		{"closed after the name", readHello, []string{"closed the connection without a word", "named " + rtcHost + " (SNI)"}, []string{"domain (SNI/URL) filter"}, nil},
		{"TLS alert", func(c net.Conn) { readHello(c); c.Write([]byte{21, 3, 3, 0, 2, 2, 40}) }, // fatal handshake_failure
			[]string{"refused the TLS handshake", "TLS alert: handshake failure"}, []string{"exempt " + rtcHost}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var port int
			if tc.answer != nil {
				port = rawServer(t, tc.answer)
			} else {
				srv := httptest.NewServer(http.RedirectHandler("http://portal.example.net/", http.StatusFound))
				t.Cleanup(srv.Close)
				port = portOf(srv.Listener.Addr().String())
			}
			r := runProbe(t, tlsHandshake, loopbackEnv(t), webEndpoint(rtcHost, port))
			wantResult(t, r, Fail, result.PhaseTLS, tc.reason, tc.remedy)
			if strings.Contains(r.Reason, "tls: ") || strings.Contains(r.Reason, "first record") {
				t.Errorf("a Go error string in the reason: %q", r.Reason)
			}
			if r.Details["error"] == "" {
				t.Errorf("the raw error is not kept in Details: %v", r.Details)
			}
			for k, v := range tc.details {
				if r.Details[k] != v {
					t.Errorf("detail %s = %q, want %q", k, r.Details[k], v)
				}
			}
		})
	}
}

// FuzzNonTLS: whatever a server sends instead of TLS, nonTLS describes it
// in one bounded, printable line and never panics.
func FuzzNonTLS(f *testing.F) {
	f.Add([]byte("HTTP/1.1 302 Found\r\nLocation: http://portal.example/login\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nLocation: \x00\xff//[::1\r\n\r\n"))
	f.Add([]byte("SSH-2.0-OpenSSH\r\n"))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		what, loc, _ := nonTLS(b)
		if len(what) > 400 || len(loc) > 400 || strings.ContainsAny(what+loc, "\n\r") {
			t.Errorf("nonTLS(%q) = %q, %q", b, what, loc)
		}
	})
}
