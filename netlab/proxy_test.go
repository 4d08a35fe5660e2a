//go:build linux

package netlab_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/internal/squid"
	"github.com/ccp-preflight/ccp-preflight/netlab"
)

// The proxy scenarios: Debian's squid runs in the wan namespace (the
// corporate proxy at the network's edge, 10.99.1.1), the agent's direct
// TCP 443 is silently dropped (tcp443-drop) so that only the proxy gets
// out, and the built binary runs in the agent namespace with the proxy
// configured the ways agents' computers have it: the config file, the
// environment, a PAC served by the lab's web server, WPAD found through
// the lab's DNS. Squid's own helpers authenticate: basic_ncsa_auth
// (Basic) and ntlm_fake_auth (NTLM).

// Squid ports on the wan's agent-side address.
const (
	portOpen    = 3128 // no authentication
	portBasic   = 3129 // Basic (proxyUser / proxyPass)
	portNTLM    = 3130 // NTLM (ntlm_fake_auth: any user that completes NTLM)
	portRefuser = 3131 // no authentication; refuses CONNECT to static.lab.test
	portDead    = 3999 // nothing listens
	proxyUser   = "agent7"
	proxyPass   = "Lab-pr0xy-s3cret"
)

func proxyURL(port int) string { return fmt.Sprintf("http://%s:%d", netlab.WanAgentSide, port) }

// needSquid skips when squid is missing (make test installs it).
func needSquid(t *testing.T) {
	t.Helper()
	needLab(t)
	if miss := squid.Available(); miss != "" {
		t.Skipf("proxy scenarios skipped: this machine lacks %s (make test installs squid)", miss)
	}
}

// startWanSquid runs squid in the lab's wan namespace on port, asking the
// lab's DNS, until the test ends.
func startWanSquid(t *testing.T, l *netlab.Lab, port int, o squid.Options) *squid.Squid {
	t.Helper()
	dir, err := os.MkdirTemp("", "ccp-netlab-squid-") // squid's own user must reach it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o.Name = fmt.Sprintf("%s%d", strings.ReplaceAll(l.Name, "-", ""), port)
	o.Dir = filepath.Join(dir, "squid")
	o.Listen = fmt.Sprintf("%s:%d", netlab.WanAgentSide, port)
	o.Nameserver = netlab.DNS
	o.Command = func(name string, args ...string) *exec.Cmd {
		return exec.Command("ip", append([]string{"netns", "exec", l.Wan(), name}, args...)...)
	}
	listening := func(ctx context.Context) bool {
		out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", l.Wan(), "ss", "-Hltn").Output()
		return strings.Contains(string(out), o.Listen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := squid.Start(ctx, o, listening)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("squid :%d: %s\naccess.log:\n%s", port, s.Log(), s.AccessLog())
		}
		s.Stop()
	})
	return s
}

// proxyLab starts a routed lab with the agent's direct TCP 443 dropped.
func proxyLab(t *testing.T, name string) *netlab.Lab {
	t.Helper()
	needSquid(t)
	t.Parallel()
	l := startLab(t, netlab.Options{Name: name})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.On(ctx, "tcp443-drop", ""); err != nil {
		t.Fatal(err)
	}
	return l
}

// labConfig writes a config file: the lab's (lab.yaml) plus extra keys.
func labConfig(t *testing.T, l *netlab.Lab, name, extra string) string {
	t.Helper()
	base, err := os.ReadFile(l.File(netlab.FileConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.File(name), append(base, []byte(extra)...), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// serve publishes a file on the lab's web server (http://pac.lab.test/NAME,
// http://wpad.lab.test/NAME) and makes those names resolve.
func serve(t *testing.T, l *netlab.Lab, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(l.File(netlab.DirWWW), name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := l.ReadLabdState()
	if err != nil {
		t.Fatal(err)
	}
	if st.Zone["pac.lab.test"] == "" {
		st.Zone["pac.lab.test"] = netlab.Web
		st.Zone["wpad.lab.test"] = netlab.Web
		if err := l.WriteLabdState(st); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // labd reloads on SIGHUP
	}
}

// searchDomain gives the agent namespace a resolv.conf whose search
// domain is lab.test (ip netns exec bind-mounts /etc/netns/NS/resolv.conf),
// as DHCP gives an office computer its domain: WPAD looks there.
func searchDomain(t *testing.T, l *netlab.Lab) {
	t.Helper()
	dir := filepath.Join("/etc/netns", l.Agent())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("search lab.test\nnameserver "+netlab.DNS+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// logProxyLines logs each env.proxy line: the resolving note quotes them.
func logProxyLines(t *testing.T, what string, r Report) {
	t.Helper()
	for _, c := range r.find("env.proxy", "") {
		t.Logf("%s: verdict %s; env.proxy %s [%s] %s", what, r.Verdict, c.Target, c.Status, c.Reason)
	}
}

// tcpChecks skips the UDP checks where a scenario is about TCP 443 only.
var tcpChecks = []string{"--skip", "stun,turn,path,nat,media,capacity"}

// TestProxyScenarioReady: with direct TCP 443 blocked and only the proxy
// getting out, the run is READY whenever the browser's configuration
// points at the proxy — from the config file, the environment
// (HTTPS_PROXY), a PAC choosing a different proxy per host (one of them
// with Basic authentication), or WPAD found by DNS — and NOT READY when
// nothing points at it (the browser would fail too).
func TestProxyScenarioReady(t *testing.T) {
	l := proxyLab(t, "nlpxok")
	startWanSquid(t, l, portOpen, squid.Options{})
	startWanSquid(t, l, portBasic, squid.Options{Auth: squid.AuthBasic, Users: map[string]string{proxyUser: proxyPass}})
	os.WriteFile(l.File("proxy-creds.json"), []byte(fmt.Sprintf(`{"username": %q, "password": %q}`, proxyUser, proxyPass)), 0o600)
	serve(t, l, "proxy.pac", fmt.Sprintf(`function FindProxyForURL(url, host) {
  if (isPlainHostName(host)) return "DIRECT";
  if (host == "static.lab.test") return "PROXY %s:%d";
  if (dnsDomainIs(host, ".lab.test") && isInNet(dnsResolve(host), "203.0.113.0", "255.255.255.0")) return "PROXY %s:%d; DIRECT";
  return "DIRECT";
}`, netlab.WanAgentSide, portBasic, netlab.WanAgentSide, portOpen))
	serve(t, l, "wpad.dat", fmt.Sprintf(`function FindProxyForURL(url, host) { return "PROXY %s:%d"; }`, netlab.WanAgentSide, portOpen))
	searchDomain(t, l)
	noDesktop := []string{"XDG_CURRENT_DESKTOP="}

	t.Run("no proxy configured: NOT READY, as the browser", func(t *testing.T) {
		r, code := runCheckEnv(t, l, noDesktop, shortRun...)
		logProxyLines(t, "no proxy", r)
		expectVerdict(t, r, code, "fail")
		expect(t, r, want{id: "env.proxy", target: "connect.lab.test", status: "pass", reason: []string{`direct: no proxy configured in the environment`}})
		expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "fail", remedy: []string{remedyWeb}})
	})
	t.Run("config file", func(t *testing.T) {
		cfg := labConfig(t, l, "proxy-config.yaml", "proxy: "+proxyURL(portOpen)+"\n")
		r, code := runCheckEnv(t, l, noDesktop, append([]string{"--config", cfg}, shortRun...)...)
		logProxyLines(t, "proxy: in the config", r)
		expectVerdict(t, r, code, "pass")
		for _, host := range netlab.WebNames {
			expect(t, r, want{id: "env.proxy", target: host, status: "pass",
				reason: []string{regexp.QuoteMeta("through the proxy " + proxyURL(portOpen) + " (from the config file)")}})
			expect(t, r, want{id: "tcp.connect", target: host, status: "pass", reason: []string{"opened through the proxy " + regexp.QuoteMeta(proxyURL(portOpen))}})
			expect(t, r, want{id: "tls.handshake", target: host, status: "pass"})
		}
	})
	t.Run("environment", func(t *testing.T) {
		r, code := runCheckEnv(t, l, append(noDesktop, "HTTPS_PROXY="+proxyURL(portOpen)), shortRun...)
		logProxyLines(t, "HTTPS_PROXY", r)
		expectVerdict(t, r, code, "pass")
		expect(t, r, want{id: "env.proxy", target: "connect.lab.test", status: "pass",
			reason: []string{regexp.QuoteMeta("through the proxy " + proxyURL(portOpen) + " (from HTTPS_PROXY)")}})
	})
	t.Run("PAC per host, Basic authentication", func(t *testing.T) {
		cfg := labConfig(t, l, "proxy-pac.yaml", "proxy_pac: http://pac.lab.test/proxy.pac\nproxy_credentials_file: proxy-creds.json\n")
		r, code := runCheckEnv(t, l, noDesktop, append([]string{"--config", cfg}, shortRun...)...)
		logProxyLines(t, "proxy_pac", r)
		expectVerdict(t, r, code, "pass")
		pac := regexp.QuoteMeta("(from the PAC http://pac.lab.test/proxy.pac (from proxy_pac in the config file))")
		expect(t, r, want{id: "env.proxy", target: "connect.lab.test", status: "pass",
			reason: []string{regexp.QuoteMeta("through the proxy "+proxyURL(portOpen)+" ") + pac, "then DIRECT if it cannot be reached"}})
		expect(t, r, want{id: "env.proxy", target: "static.lab.test", status: "pass",
			reason: []string{regexp.QuoteMeta("through the proxy "+proxyURL(portBasic)+" ") + pac}})
		expect(t, r, want{id: "tcp.connect", target: "static.lab.test", status: "pass", reason: []string{regexp.QuoteMeta(proxyURL(portBasic))}})
	})
	t.Run("WPAD by DNS", func(t *testing.T) {
		// Chrome on Linux: auto_proxy set but empty means auto-detect.
		r, code := runCheckEnv(t, l, append(noDesktop, "auto_proxy="), shortRun...)
		logProxyLines(t, "WPAD (auto_proxy=)", r)
		expectVerdict(t, r, code, "pass")
		expect(t, r, want{id: "env.proxy", target: "connect.lab.test", status: "pass",
			reason: []string{regexp.QuoteMeta("through the proxy " + proxyURL(portOpen) + " (from WPAD: the PAC http://wpad.lab.test/wpad.dat)")}})
	})
}

// TestProxyScenarioAuth: a proxy asking for authentication (407) gets
// Basic or NTLM as the browser's would; a wrong password or missing
// credentials fail tcp.connect in phase proxy naming the schemes offered
// and the one that failed; the password appears in no output.
func TestProxyScenarioAuth(t *testing.T) {
	l := proxyLab(t, "nlpxauth")
	startWanSquid(t, l, portBasic, squid.Options{Auth: squid.AuthBasic, Users: map[string]string{proxyUser: proxyPass}})
	startWanSquid(t, l, portNTLM, squid.Options{Auth: squid.AuthNTLM})
	os.WriteFile(l.File("good-creds.json"), []byte(fmt.Sprintf(`{"username": %q, "password": %q}`, proxyUser, proxyPass)), 0o600)
	os.WriteFile(l.File("bad-creds.json"), []byte(fmt.Sprintf(`{"username": %q, "password": "not-%s"}`, proxyUser, proxyPass)), 0o600)
	env := []string{"XDG_CURRENT_DESKTOP="}
	run := func(t *testing.T, name, yaml string, extraEnv ...string) (Report, int) {
		t.Helper()
		cfg := labConfig(t, l, name, yaml)
		r, code := runCheckEnv(t, l, append(env, extraEnv...), append([]string{"--config", cfg}, tcpChecks...)...)
		for _, c := range r.Checks {
			if strings.Contains(c.String(), proxyPass) || strings.Contains(c.String(), proxyUser) {
				t.Errorf("proxy credentials in the report: %v", c)
			}
		}
		logProxyLines(t, name, r)
		return r, code
	}
	t.Run("Basic", func(t *testing.T) {
		r, code := run(t, "basic-good.yaml", "proxy: "+proxyURL(portBasic)+"\nproxy_credentials_file: good-creds.json\n")
		expectVerdict(t, r, code, "pass")
		expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "pass"})
	})
	t.Run("Basic, wrong password", func(t *testing.T) {
		r, _ := run(t, "basic-bad.yaml", "proxy: "+proxyURL(portBasic)+"\nproxy_credentials_file: bad-creds.json\n")
		expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "fail", phase: regexp.MustCompile(`^proxy$`),
			reason: []string{`rejected Basic with the credentials from config proxy_credentials_file .*bad-creds.json`, `HTTP 407; it offers Basic`},
			remedy: []string{`check the proxy user name and password`}})
	})
	t.Run("NTLM, credentials from the environment", func(t *testing.T) {
		r, code := run(t, "ntlm.yaml", "proxy: "+proxyURL(portNTLM)+"\n", "CCP_PREFLIGHT_PROXY_USER=LAB\\"+proxyUser, "CCP_PREFLIGHT_PROXY_PASSWORD="+proxyPass)
		expectVerdict(t, r, code, "pass")
		expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "pass"})
		expect(t, r, want{id: "tls.handshake", target: "connect.lab.test", status: "pass"})
	})
	t.Run("NTLM, no credentials", func(t *testing.T) {
		r, _ := run(t, "ntlm-none.yaml", "proxy: "+proxyURL(portNTLM)+"\n")
		expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "fail",
			reason: []string{`HTTP 407; it offers NTLM`, `no proxy credentials were given`},
			remedy: []string{`exempt connect\.lab\.test from proxy authentication`, `proxy_credentials_file`}})
	})
}

// TestProxyScenarioFaults: a proxy that refuses CONNECT to one host, a
// PAC whose first proxy is dead, TLS interception behind the proxy, and
// PACs that do not parse or never return: each is reported where it
// happens, and a broken PAC never hangs the run (it goes DIRECT, as the
// browser does).
func TestProxyScenarioFaults(t *testing.T) {
	l := proxyLab(t, "nlpxbad")
	startWanSquid(t, l, portOpen, squid.Options{})
	startWanSquid(t, l, portRefuser, squid.Options{DenyConnect: []string{"static.lab.test"}})
	env := []string{"XDG_CURRENT_DESKTOP="}
	t.Run("refused CONNECT", func(t *testing.T) {
		cfg := labConfig(t, l, "refuser.yaml", "proxy: "+proxyURL(portRefuser)+"\n")
		r, code := runCheckEnv(t, l, env, append([]string{"--config", cfg}, tcpChecks...)...)
		expectVerdict(t, r, code, "fail")
		expect(t, r, want{id: "tcp.connect", target: "static.lab.test", status: "fail", phase: regexp.MustCompile(`^proxy$`),
			reason: []string{`refused to tunnel to static\.lab\.test:443: HTTP 403`},
			remedy: []string{`on the proxy ` + regexp.QuoteMeta(proxyURL(portRefuser)) + `, allow CONNECT to static\.lab\.test:443`}})
		expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "pass"})
	})
	t.Run("dead first proxy", func(t *testing.T) {
		serve(t, l, "failover.pac", fmt.Sprintf(`function FindProxyForURL(u, h) { return "PROXY %s:%d; PROXY %s:%d"; }`, netlab.WanAgentSide, portDead, netlab.WanAgentSide, portOpen))
		cfg := labConfig(t, l, "failover.yaml", "proxy_pac: http://pac.lab.test/failover.pac\n")
		r, code := runCheckEnv(t, l, env, append([]string{"--config", cfg}, tcpChecks...)...)
		logProxyLines(t, "failover PAC", r)
		expectVerdict(t, r, code, "warn")
		expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "warn",
			reason: []string{regexp.QuoteMeta("opened through the proxy " + proxyURL(portOpen)), regexp.QuoteMeta("after: " + proxyURL(portDead) + " could not be reached (refused)")}})
	})
	t.Run("TLS interception behind the proxy", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := l.On(ctx, "intercept", ""); err != nil {
			t.Fatal(err)
		}
		defer l.Off(ctx, "intercept")
		cfg := labConfig(t, l, "intercept.yaml", "proxy: "+proxyURL(portOpen)+"\n")
		r, code := runCheckEnv(t, l, env, append([]string{"--config", cfg}, tcpChecks...)...)
		expectVerdict(t, r, code, "fail")
		expect(t, r, want{id: "tls.handshake", target: "connect.lab.test", status: "fail",
			reason: []string{`Corp TLS Inspection CA`}})
		if cs := r.find("tls.handshake", "connect.lab.test"); len(cs) > 0 && cs[0].Details["proxy"] != proxyURL(portOpen) {
			t.Errorf("tls.handshake did not go through the proxy: %v", cs[0])
		}
	})
	for _, c := range []struct{ name, body, want string }{
		{"syntax error", `function FindProxyForURL(u, h) { return "DIRECT"`, `does not parse`},
		{"endless loop", `function FindProxyForURL(u, h) { for (;;) {} }`, `ran past its time limit`},
		{"garbage", `function FindProxyForURL(u, h) { return "PROXY"; }`, `returned garbage`},
	} {
		t.Run("broken PAC: "+c.name, func(t *testing.T) {
			file := strings.ReplaceAll(c.name, " ", "-") + ".pac"
			serve(t, l, file, c.body)
			cfg := labConfig(t, l, "bad-"+file+".yaml", "proxy_pac: http://pac.lab.test/"+file+"\n")
			r, _ := runCheckEnv(t, l, env, append([]string{"--config", cfg}, tcpChecks...)...)
			logProxyLines(t, "broken PAC ("+c.name+")", r)
			expect(t, r, want{id: "env.proxy", target: "connect.lab.test", status: "warn",
				reason: []string{`the PAC http://pac\.lab\.test/` + regexp.QuoteMeta(file) + ` ` + c.want, `going DIRECT, as a browser does`},
				remedy: []string{`PAC`}})
			// DIRECT is blocked in this lab: the browser would fail too.
			expect(t, r, want{id: "tcp.connect", target: "connect.lab.test", status: "fail", phase: regexp.MustCompile(`^connect$`)})
		})
	}
}
