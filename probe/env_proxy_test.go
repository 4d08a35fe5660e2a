package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// freshEnv is loopbackEnv's resolver with a new Env: the proxy settings
// are read once per run, as a browser reads them once.
func freshEnv(t *testing.T, s *lab.DNSServer) *Env { return envFor(s.Addr) }

func TestEnvProxyNamesThePath(t *testing.T) {
	noEnvProxy(t)
	dns := startDNS(t, lab.DNSOptions{})
	r := runProbe(t, envProxy, freshEnv(t, dns), webEndpoint(rtcHost, 443))
	wantResult(t, r, Pass, "", []string{"direct: no proxy configured in the environment"}, nil)

	t.Setenv("HTTPS_PROXY", "http://user:s3cret-pw@proxy.corp.example:3128")
	t.Setenv("NO_PROXY", ".cloudfront.net")
	env := freshEnv(t, dns)
	r = runProbe(t, envProxy, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Warn, result.PhaseProxy, []string{"signaling WebSocket", "http://proxy.corp.example:3128", "HTTPS_PROXY"}, []string{"exempt " + rtcHost + " from the proxy"})
	r2 := runProbe(t, envProxy, env, webEndpoint("dd401jc05x2yk.cloudfront.net", 443))
	wantResult(t, r2, Pass, "", []string{"NO_PROXY in the environment exempts dd401jc05x2yk.cloudfront.net"}, nil)
	r3 := runProbe(t, envProxy, env, webEndpoint("participant.connect.us-east-1.amazonaws.com", 443))
	wantResult(t, r3, Pass, "", []string{"through the proxy http://proxy.corp.example:3128 (from HTTPS_PROXY)"}, nil)
	if r3.Details["origin"] != "manual" || r3.Details["settings"] != "the environment" {
		t.Errorf("details %v", r3.Details)
	}
	for _, x := range []Result{r, r2, r3} {
		if s := x.Reason + x.Remedy + strings.Join(values(x.Details), " "); strings.Contains(s, "s3cret") || strings.Contains(s, "user:") {
			t.Errorf("proxy credentials leaked: %q", s)
		}
	}
	env = freshEnv(t, dns)
	env.Cfg.Lab = true
	r = runProbe(t, envProxy, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Pass, "", []string{"lab mode uses no proxy"}, nil)
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// writePAC writes a PAC file for a test.
func writePAC(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "proxy.pac")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEnvProxyPAC: with proxy_pac, each endpoint gets the PAC's own
// answer for its host (dnsResolve through the run's resolver), named with
// the PAC, and the hops in order.
func TestEnvProxyPAC(t *testing.T) {
	noEnvProxy(t)
	dns := startDNS(t, lab.DNSOptions{}) // every name is 127.0.0.1
	pac := writePAC(t, `function FindProxyForURL(url, host) {
  if (dnsDomainIs(host, ".cloudfront.net")) return "DIRECT";
  if (isInNet(dnsResolve(host), "127.0.0.0", "255.0.0.0")) return "PROXY a.corp.example:3128; PROXY b.corp.example:3128; DIRECT";
  return "PROXY never:1";
}`)
	env := freshEnv(t, dns)
	env.Cfg.ProxyMode, env.Cfg.ProxyPAC = sysproxy.ModePAC, pac
	r := runProbe(t, envProxy, env, webEndpoint("participant.connect.us-east-1.amazonaws.com", 443))
	wantResult(t, r, Pass, "", []string{"through the proxy http://a.corp.example:3128 (from the PAC " + pac + " (from proxy_pac in the config file))",
		"then http://b.corp.example:3128, then DIRECT if it cannot be reached"}, nil)
	if r.Details["hops"] != "PROXY a.corp.example:3128; PROXY b.corp.example:3128; DIRECT" || r.Details["pac"] != pac || r.Details["origin"] != "pac" {
		t.Errorf("details %v", r.Details)
	}
	r = runProbe(t, envProxy, env, webEndpoint("dd401jc05x2yk.cloudfront.net", 443))
	wantResult(t, r, Pass, "", []string{"DIRECT, chosen by the PAC " + pac}, nil)
}

// TestEnvProxyBrokenPAC: a PAC that does not parse is one warning naming
// the PAC; the connection goes DIRECT, as a browser's does.
func TestEnvProxyBrokenPAC(t *testing.T) {
	env := loopbackEnv(t)
	pac := writePAC(t, `function FindProxyForURL(url, host) { return "DIRECT"`)
	env.Cfg.ProxyMode, env.Cfg.ProxyPAC = sysproxy.ModePAC, pac
	_, s := startTLS(t, "ccp-preflight lab CA")
	e := webEndpoint(rtcHost, s.Port)
	r := runProbe(t, envProxy, env, e)
	wantResult(t, r, Warn, result.PhaseProxy, []string{"the PAC " + pac + " does not parse", "going DIRECT, as a browser does"}, []string{"correct the PAC " + pac})
	r = runProbe(t, tcpConnect, env, e)
	wantResult(t, r, Pass, "", []string{"opened to 127.0.0.1"}, nil)
}
