//go:build linux

package probe

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/internal/squid"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// startSquid runs Debian's squid on a loopback port of its own for one
// test (root only), resolving the test's endpoint names to 127.0.0.1.
func startSquid(t *testing.T, o squid.Options, names ...string) *squid.Squid {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("squid runs on Linux")
	}
	if miss := squid.Available(); miss != "" {
		t.Skipf("needs %s (CI runs as root with squid installed)", miss)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Listen = ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "ccp-squid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o.Dir = filepath.Join(dir, "squid")
	o.Name = fmt.Sprintf("ccpt%d%d", os.Getpid(), time.Now().UnixNano()%1e6)
	o.Hosts = map[string]string{}
	for _, n := range names {
		o.Hosts[n] = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := squid.Start(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("squid: %s\naccess.log: %s", s.Log(), s.AccessLog())
		}
		s.Stop()
	})
	return s
}

// squidEnv is an Env that reaches endpoints only through the squid at
// listen, with creds.
func squidEnv(t *testing.T, listen string, creds config.ProxyCredentials) *Env {
	t.Helper()
	noEnvProxy(t)
	silent := startDNS(t, lab.DNSOptions{Mode: lab.DNSSilent}) // through a proxy nothing is resolved here
	env := envFor(silent.Addr)
	env.Cfg.ProxyMode = sysproxy.ModeFixed
	env.Cfg.Proxy = &url.URL{Scheme: "http", Host: listen}
	env.Cfg.ProxyAuth = creds
	env.Cfg.Lab = true // the test CA is trusted through Roots, as in the lab
	return env
}

const squidPass = "Sq-pr0xy-pass"

// TestSquidAuth: through a real squid, Basic and NTLM (squid's
// ntlm_fake_auth) authenticate with the credentials from a file or the
// environment and tcp.connect and tls.handshake pass; a wrong password
// and missing credentials fail in phase proxy naming the schemes offered
// and the one that failed; the password appears nowhere.
func TestSquidAuth(t *testing.T) {
	ca, tlsSrv := startTLS(t, "ccp-preflight lab CA")
	host := "signin.lab.test"
	e := webEndpoint(host, tlsSrv.Port)
	good := config.ProxyCredentials{Username: "agent7", Password: squidPass, From: "proxy_credentials_file creds.json"}
	bad := config.ProxyCredentials{Username: "agent7", Password: "wrong", From: "proxy_credentials_file creds.json"}
	cases := []struct {
		name   string
		auth   string
		creds  config.ProxyCredentials
		status Status
		reason []string
		remedy []string
	}{
		{"basic", squid.AuthBasic, good, Pass, []string{"TCP " + fmt.Sprint(tlsSrv.Port) + " opened through the proxy"}, nil},
		{"basic wrong password", squid.AuthBasic, bad, Fail,
			[]string{"rejected Basic with the credentials from proxy_credentials_file creds.json", "HTTP 407; it offers Basic"},
			[]string{"check the proxy user name and password (proxy_credentials_file creds.json)"}},
		{"basic no credentials", squid.AuthBasic, config.ProxyCredentials{}, Fail,
			[]string{"asks for authentication (HTTP 407; it offers Basic)", "no proxy credentials were given"},
			[]string{"exempt " + host + " from proxy authentication", "proxy_credentials_file", config.EnvProxyUser}},
		{"ntlm", squid.AuthNTLM, config.ProxyCredentials{Username: `CORP\agent7`, Password: squidPass, From: config.EnvProxyUser}, Pass, []string{"opened through the proxy"}, nil},
		{"ntlm no credentials", squid.AuthNTLM, config.ProxyCredentials{}, Fail,
			[]string{"it offers NTLM", "no proxy credentials were given"}, []string{"exempt " + host}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startSquid(t, squid.Options{Auth: c.auth, Users: map[string]string{"agent7": squidPass}, ConnectPorts: []int{tlsSrv.Port}}, host)
			env := squidEnv(t, s.Addr(), c.creds)
			env.Cfg.Roots = ca.Pool()
			r := runProbe(t, tcpConnect, env, e)
			wantResult(t, r, c.status, phaseFor(c.status), c.reason, c.remedy)
			if c.status == Pass {
				r = runProbe(t, tlsHandshake, env, e)
				wantResult(t, r, Pass, "", []string{"TLS 1.3 with " + host}, nil)
			}
			if s := fmt.Sprintf("%v", r); strings.Contains(s, squidPass) || strings.Contains(s, "agent7") {
				t.Errorf("credentials in the result: %s", s)
			}
		})
	}
}

func phaseFor(s Status) string {
	if s == Pass {
		return ""
	}
	return result.PhaseProxy
}

// TestSquidRefusesConnect: a squid whose policy refuses CONNECT to one
// host fails that host in phase proxy with the rule to change on the
// proxy, and passes the others.
func TestSquidRefusesConnect(t *testing.T) {
	_, tlsSrv := startTLS(t, "ccp-preflight lab CA")
	s := startSquid(t, squid.Options{DenyConnect: []string{"static.lab.test"}, ConnectPorts: []int{tlsSrv.Port}}, "static.lab.test", "connect.lab.test")
	env := squidEnv(t, s.Addr(), config.ProxyCredentials{})
	blocked, open := webEndpoint("static.lab.test", tlsSrv.Port), webEndpoint("connect.lab.test", tlsSrv.Port)
	r := runProbe(t, tcpConnect, env, blocked)
	wantResult(t, r, Fail, result.PhaseProxy, []string{"refused to tunnel to " + blocked.Addr(), "403 Forbidden"},
		[]string{"allow CONNECT to " + blocked.Addr()})
	r = runProbe(t, tcpConnect, env, open)
	wantResult(t, r, Pass, "", []string{"opened through the proxy"}, nil)
}
