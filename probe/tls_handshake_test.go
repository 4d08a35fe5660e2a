package probe

import (
	"crypto/tls"
	"net"
	"sync"
	"testing"

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
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	env := loopbackEnv(t)
	env.Cfg.Roots = ca.Pool()
	env.Cfg.Lab = true
	r := runProbe(t, tlsHandshake, env, webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Fail, result.PhaseVerify, []string{"names portal.example, not " + rtcHost, "captive portal"}, []string{"allow outbound TCP"})
}

func TestTLSSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	r := runProbe(t, tlsHandshake, loopbackEnv(t), webEndpoint(rtcHost, portOf(ln.Addr().String())))
	wantResult(t, r, Fail, result.PhaseTLS, []string{"no TLS answer", "does not speak TLS"}, []string{"allow outbound TCP"})
}

func TestTLSSkipsWhenTCPFails(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := portOf(ln.Addr().String())
	ln.Close()
	r := runProbe(t, tlsHandshake, loopbackEnv(t), webEndpoint(rtcHost, port))
	wantResult(t, r, Skip, result.PhaseConnect, []string{"not tested", "see tcp.connect"}, nil)
}
