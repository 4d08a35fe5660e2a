package probe

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// TestProxyListFallback: a PAC's "PROXY dead; PROXY live" reaches the
// endpoint through the second proxy, as a browser does, and says so with
// a warning (each new connection waits on the dead one first).
func TestProxyListFallback(t *testing.T) {
	_, tlsSrv := startTLS(t, "ccp-preflight lab CA")
	live := startProxy(t, 0)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	env := loopbackEnv(t)
	env.Cfg.ProxyMode = sysproxy.ModePAC
	env.Cfg.ProxyPAC = writePAC(t, fmt.Sprintf(`function FindProxyForURL(u, h) { return "PROXY %s; PROXY %s; DIRECT"; }`, dead, live.ln.Addr()))
	r := runProbe(t, tcpConnect, env, webEndpoint(rtcHost, tlsSrv.Port))
	wantResult(t, r, Warn, result.PhaseProxy, []string{"opened through the proxy http://" + live.ln.Addr().String(), "after: http://" + dead + " could not be reached (refused)"},
		[]string{"repair the proxies that could not be reached"})
	if got := live.asked(); len(got) != 1 {
		t.Errorf("the live proxy was asked %v", got)
	}
}

// TestProxyAuthChallengeParsing: Proxy-Authenticate values as proxies
// send them (several per header, Basic's parameters with commas, NTLM's
// challenge token with padding).
func TestProxyAuthChallengeParsing(t *testing.T) {
	ch := parseChallenges([]string{`Negotiate`, `NTLM`, `Basic realm="Corp, Inc. proxy", charset="UTF-8"`, `Digest realm="x", nonce="abc=", qop="auth"`})
	if got := strings.Join(challengeNames(ch), ","); got != "Negotiate,NTLM,Digest,Basic" {
		t.Errorf("schemes %s (%v)", got, ch)
	}
	ch = parseChallenges([]string{"NTLM TlRMTVNTUAACAAAAAAAAACgAAAABggAAU3J2Tm9uY2UAAAAAAAAAAA=="})
	if ch["ntlm"] != "TlRMTVNTUAACAAAAAAAAACgAAAABggAAU3J2Tm9uY2UAAAAAAAAAAA==" {
		t.Errorf("NTLM token %q", ch["ntlm"])
	}
	creds := config.ProxyCredentials{Username: "u", Password: "p", From: "x"}
	for _, c := range []struct {
		offered []string
		creds   config.ProxyCredentials
		want    string
		why     string
	}{
		{[]string{"Negotiate", "NTLM", "Basic"}, creds, "NTLM", ""},
		{[]string{"Negotiate", "Basic"}, creds, "Negotiate", ""},
		{[]string{"Basic"}, creds, "Basic", ""},
		{[]string{"Basic"}, config.ProxyCredentials{}, "", "no proxy credentials were given"},
		{[]string{"Digest"}, creds, "", "does not speak Digest"},
		{nil, creds, "", "named no authentication scheme"},
	} {
		a, why := chooseAuth(c.offered, c.creds, "proxy")
		if sspiAuthenticator != nil {
			continue // Windows answers Negotiate and NTLM with the logged-in user
		}
		if schemeOf(a) != c.want || !strings.Contains(why, c.why) {
			t.Errorf("%v: %s %q, want %s %q", c.offered, schemeOf(a), why, c.want, c.why)
		}
	}
}

// TestConnectAnswerBounded: a proxy that answers CONNECT without end is
// cut off at maxConnectAnswer, in phase proxy.
func TestConnectAnswerBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write([]byte("HTTP/1.1 407 Proxy Authentication Required\r\n"))
		line := []byte("X-Filler: " + strings.Repeat("x", 1000) + "\r\n")
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for { // without end, until the client hangs up
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	}()
	env := loopbackEnv(t)
	env.Cfg.ProxyMode, env.Cfg.Proxy = sysproxy.ModeFixed, &url.URL{Scheme: "http", Host: ln.Addr().String()}
	r := runProbe(t, tcpConnect, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Fail, result.PhaseProxy, []string{"more than 64 KiB", "not an HTTP proxy's answer"}, nil)
}

// FuzzProxyChallenge feeds what a proxy sends in a 407 (its
// Proxy-Authenticate value, and the NTLM challenge inside) to the parsers:
// they never panic, and an NTLM challenge gives an answer or an error.
func FuzzProxyChallenge(f *testing.F) {
	f.Add(`Basic realm="Corp, Inc.", NTLM`, "TlRMTVNTUAACAAAACQAJAK6qqqoBgoig+aMYSNi5f+kAAAAAAAA6AFdPUktHUk9VUA==")
	f.Add(`Negotiate, Digest realm="x", nonce="a=b"`, "")
	f.Fuzz(func(t *testing.T, header, token string) {
		ch := parseChallenges([]string{header})
		challengeNames(ch)
		b, err := base64.StdEncoding.DecodeString(token)
		if err != nil {
			b = []byte(token)
		}
		c := tidyChallenge(b)
		if len(b) >= 32 && len(c) < len(b) {
			t.Fatalf("tidyChallenge shortened the message")
		}
		a := &ntlmAuth{scheme: "NTLM", creds: config.ProxyCredentials{Username: `D\u`, Password: "p"}}
		a.Next(nil)
		a.Next(b)
	})
}
