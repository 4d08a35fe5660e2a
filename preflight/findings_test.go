package preflight

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// The cascade tests run the real checks against real servers on loopback
// (miekg/dns, pion's TURN server, TLS with a CA made here, squid) with one
// fault each, and check the findings — one per root cause, the dependent
// checks under it — not only the checks.

// cascadeRun writes a config file (yaml, plus ca.pem when ca is set) and
// runs the checks not in skip on it.
func cascadeRun(t *testing.T, yaml string, ca *lab.CA, skip string) *report.Report {
	t.Helper()
	noEnv(t)
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	if ca != nil {
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Build(Options{ConfigFile: p, FailOn: "fail", Skip: skip})
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), cfg, "test", nil)
}

// noTURN skips the UDP checks, for the runs about the web path.
const noTURN = "stun,turn,path,nat,media,env.vpn"

// failing returns the fail findings.
func failing(fs []report.Finding) []report.Finding {
	var out []report.Finding
	for _, f := range fs {
		if f.Severity == result.Fail {
			out = append(out, f)
		}
	}
	return out
}

func firstScreen(r *report.Report) string {
	var b bytes.Buffer
	_ = report.Text(&b, r, report.Options{})
	return b.String()
}

func dump(r *report.Report) string {
	var b bytes.Buffer
	_ = report.Text(&b, r, report.Options{Verbose: true})
	return b.String()
}

// TestCascadeNoDNS: a DNS server that answers SERVFAIL for every name is one
// finding, "nothing resolves", for this computer — the TCP, TLS,
// signaling, UDP and media checks that could not run are under it, not
// findings of their own; and the text report names it on line 3 and stays
// short.
func TestCascadeNoDNS(t *testing.T) {
	dnsSrv, err := lab.StartDNS(lab.DNSOptions{Mode: lab.DNSServFail})
	if err != nil {
		t.Fatal(err)
	}
	defer dnsSrv.Close()
	r := cascadeRun(t, fmt.Sprintf(`region: us-east-1
instance: acme
resolver: %s
https_endpoints: ["acme.my.connect.aws:443", "d1.cloudfront.net:443", "rtc.connect-telecom.us-east-1.amazonaws.com:443"]
turn_servers: ["turn-a.example.net:3478", "turn-b.example.net:3478"]
timeout: 2s
duration: 1s
`, dnsSrv.Addr), nil, "")
	t.Logf("first screen:\n%s", firstScreen(r))
	fs := failing(r.Findings)
	if len(fs) != 1 {
		t.Fatalf("%d fail findings, want 1 (nothing resolves):\n%+v\n%s", len(fs), r.Findings, dump(r))
	}
	f := fs[0]
	if !strings.HasPrefix(f.Title, "Nothing resolves") || f.Who != result.WhoComputer || f.Results != 5 || f.Checks[0] != "dns.resolve" {
		t.Errorf("finding %+v", f)
	}
	for _, id := range []string{"tcp.connect", "tls.handshake", "signaling.websocket", "signaling.latency", "stun.binding", "turn.auth-challenge", "media.quality", "ranges.membership"} {
		if !slices.Contains(f.Checks, id) {
			t.Errorf("%s is not under the DNS finding: %v", id, f.Checks)
		}
	}
	if f.Dependent < 15 {
		t.Errorf("%d dependent results, want every check that needed a name", f.Dependent)
	}
	var b bytes.Buffer
	if err := report.Text(&b, r, report.Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) > 25 || !strings.Contains(lines[2], "Nothing resolves") {
		t.Errorf("text: %d lines, line 3 %q; want ≤ 25 with the cause on line 3:\n%s", len(lines), lines[2], b.String())
	}
	if strings.Contains(b.String(), "no such host") || strings.Contains(b.String(), "lookup ") {
		t.Errorf("raw Go errors in the text:\n%s", b.String())
	}
}

// TestCascadeInstanceAlias: the instance's names do not exist (NXDOMAIN)
// while Connect's other names resolve: "check the instance alias", for the
// Connect admin — not "a DNS filter". The signaling WebSocket (a region
// host, not the instance's) works: the test's HTTPS server is a real
// WebSocket endpoint, and the socket is no part of the finding.
func TestCascadeInstanceAlias(t *testing.T) {
	nx := lab.DNSReply{Mode: lab.DNSNXDomain}
	dnsSrv, err := lab.StartDNS(lab.DNSOptions{PerName: map[string]lab.DNSReply{"typo.my.connect.aws": nx, "typo.awsapps.com": nx}})
	if err != nil {
		t.Fatal(err)
	}
	defer dnsSrv.Close()
	ca, err := lab.NewCA("cascade test CA")
	if err != nil {
		t.Fatal(err)
	}
	ws := lab.NewWebSocket(nil)
	defer ws.Close()
	web, err := lab.StartHTTPS(ca, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	r := cascadeRun(t, fmt.Sprintf(`region: us-east-1
instance: typo
resolver: %s
ca_files: [ca.pem]
https_endpoints: ["typo.my.connect.aws:%[2]d", "typo.awsapps.com:%[2]d", "rtc.connect-telecom.us-east-1.amazonaws.com:%[2]d"]
signaling_url: wss://abc123.transport.connect.us-east-1.amazonaws.com:%[2]d/
timeout: 2s
`, dnsSrv.Addr, web.Port), ca, noTURN)
	t.Logf("first screen:\n%s", firstScreen(r))
	fs := failing(r.Findings)
	if len(fs) != 1 || !strings.Contains(fs[0].Title, "check the instance alias") || fs[0].Who != result.WhoConnectAdmin ||
		!slices.Equal(fs[0].Targets, []string{"typo.my.connect.aws", "typo.awsapps.com"}) || strings.Contains(fs[0].Title, "filter") {
		t.Fatalf("fail findings %+v\n%s", fs, dump(r))
	}
	if !slices.Contains(fs[0].Checks, "tcp.connect") || !slices.Contains(fs[0].Checks, "tls.handshake") {
		t.Errorf("the instance's TCP and TLS skips are not under it: %v", fs[0].Checks)
	}
	if slices.Contains(fs[0].Checks, "signaling.websocket") || ws.Accepted() == 0 {
		t.Errorf("the signaling WebSocket (%d upgrades accepted) is under the instance's finding: %v", ws.Accepted(), fs[0].Checks)
	}
	for _, c := range r.Checks {
		if c.ID == "signaling.websocket" && c.Status != result.Pass {
			t.Errorf("signaling.websocket %s: %s", c.Status, c.Reason)
		}
	}
}

// TestCascadeOneTURNDown: of two TURN servers one never answers (a socket
// that reads nothing: the silent drop of a firewall). One finding names
// it; its TURN, large-datagram and media checks are under it; the working
// server has none.
func TestCascadeOneTURNDown(t *testing.T) {
	turnSrv, err := lab.StartTURN(lab.TURNOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer turnSrv.Close()
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	deadPort := dead.LocalAddr().(*net.UDPAddr).Port
	dnsSrv, err := lab.StartDNS(lab.DNSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dnsSrv.Close()
	r := cascadeRun(t, fmt.Sprintf(`region: us-east-1
resolver: %s
turn_servers: ["turn-up.example.net:%d", "turn-down.example.net:%d"]
timeout: 2s
duration: 1s
`, dnsSrv.Addr, turnSrv.Port, deadPort), nil, "tcp,tls,signaling,env.clock,env.proxy,ranges.membership")
	t.Logf("first screen:\n%s", firstScreen(r))
	fs := failing(r.Findings)
	if len(fs) != 1 {
		t.Fatalf("%d fail findings, want 1 (the silent TURN server):\n%+v\n%s", len(fs), r.Findings, dump(r))
	}
	f := fs[0]
	if !strings.Contains(f.Title, "turn-down.example.net does not answer on UDP 3478") || f.Checks[0] != "stun.binding" ||
		!slices.Equal(f.Targets, []string{"turn-down.example.net"}) || f.Who != result.WhoNetwork {
		t.Errorf("finding %+v", f)
	}
	for _, id := range []string{"turn.auth-challenge", "path.large-datagram", "media.quality"} {
		if !slices.Contains(f.Checks, id) {
			t.Errorf("%s on the silent server is not under its finding: %v\n%s", id, f.Checks, dump(r))
		}
	}
	for _, l := range report.SummaryLines(r) {
		if l[0] == "UDP 3478" && l[1] != "1 of 2 TURN servers answer" {
			t.Errorf("summary %q", l)
		}
	}
}

// TestCascadeTLSInspectedEverywhere: every HTTPS endpoint, the signaling
// WebSocket's host included, presents a certificate from a CA this computer
// does not trust (an inspecting proxy's own CA): one finding naming that CA
// and the signaling domain among the names to exempt, with the clock check
// that could not read a time, and the signaling latency that could not be
// timed, under it.
func TestCascadeTLSInspectedEverywhere(t *testing.T) {
	inspector, err := lab.NewCA("Corp Inspection CA")
	if err != nil {
		t.Fatal(err)
	}
	web, err := lab.StartHTTPS(inspector, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	dnsSrv, err := lab.StartDNS(lab.DNSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dnsSrv.Close()
	r := cascadeRun(t, fmt.Sprintf(`region: us-east-1
resolver: %s
https_endpoints: ["acme.my.connect.aws:%[2]d", "d1.cloudfront.net:%[2]d", "rtc.connect-telecom.us-east-1.amazonaws.com:%[2]d"]
signaling_url: wss://abc123.transport.connect.us-east-1.amazonaws.com:%[2]d/
timeout: 2s
`, dnsSrv.Addr, web.Port), nil, noTURN)
	t.Logf("first screen:\n%s", firstScreen(r))
	fs := failing(r.Findings)
	if len(fs) != 1 {
		t.Fatalf("%d fail findings, want 1 (TLS inspection):\n%+v\n%s", len(fs), r.Findings, dump(r))
	}
	f := fs[0]
	if !strings.Contains(f.Title, "TLS inspection decrypts every HTTPS connection") || !strings.Contains(f.Title, "Corp Inspection CA") ||
		f.Results != 4 || !strings.Contains(f.Remedy, "exempt these 4 names from TLS inspection") ||
		!strings.Contains(f.Remedy, "rtc.connect-telecom.us-east-1.amazonaws.com and *.transport.connect.us-east-1.amazonaws.com") {
		t.Errorf("finding %+v", f)
	}
	for _, id := range []string{"tls.handshake", "signaling.websocket", "env.clock", "signaling.latency"} {
		if !slices.Contains(f.Checks, id) {
			t.Errorf("%s is not under it: %v\n%s", id, f.Checks, dump(r))
		}
	}
}

// TestCascadeProxyRefusesEverything: squid, configured to deny every
// request, is the proxy: one finding, "the proxy refuses every connection",
// naming the signaling WebSocket's domain with the web endpoints (its
// tunnel is refused too: the CCP needs both), with the TLS checks and the
// signaling latency that had no tunnel under it.
func TestCascadeProxyRefusesEverything(t *testing.T) {
	proxy := startSquid(t, "http_access deny all")
	dnsSrv, err := lab.StartDNS(lab.DNSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dnsSrv.Close()
	r := cascadeRun(t, fmt.Sprintf(`region: us-east-1
resolver: %s
proxy: http://%s
https_endpoints: ["acme.my.connect.aws:443", "d1.cloudfront.net:443", "rtc.connect-telecom.us-east-1.amazonaws.com:443"]
timeout: 3s
`, dnsSrv.Addr, proxy), nil, noTURN)
	t.Logf("first screen:\n%s", firstScreen(r))
	fs := failing(r.Findings)
	if len(fs) != 1 {
		t.Fatalf("%d fail findings, want 1 (the proxy):\n%+v\n%s", len(fs), r.Findings, dump(r))
	}
	f := fs[0]
	if f.Title != "The proxy refuses every connection to Amazon Connect" || f.Results != 4 || !strings.Contains(f.Remedy, proxy) ||
		!strings.Contains(f.Remedy, "these 4 names, without authentication for them: acme.my.connect.aws, d1.cloudfront.net, rtc.connect-telecom.us-east-1.amazonaws.com and *.transport.connect.us-east-1.amazonaws.com") {
		t.Errorf("finding %+v", f)
	}
	for _, id := range []string{"tcp.connect", "signaling.websocket", "tls.handshake", "signaling.latency"} {
		if !slices.Contains(f.Checks, id) {
			t.Errorf("%s is not under it: %v\n%s", id, f.Checks, dump(r))
		}
	}
}

// startSquid runs squid on a free loopback port with access rule rule and
// returns its host:port; it is stopped (by PID) when the test ends.
func startSquid(t *testing.T, rule string) string {
	t.Helper()
	bin, err := exec.LookPath("squid")
	if err != nil {
		t.Skip("squid not installed (apt-get install squid)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir, err := os.MkdirTemp("", "ccp-squid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// squid started as root drops to its own user: let it write its logs.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`http_port %s
%s
pid_filename %s/squid.pid
cache_log %s/cache.log
access_log none
cache deny all
cache_mem 8 MB
shutdown_lifetime 0 seconds
coredump_dir %s
`, addr, rule, dir, dir, dir)
	cf := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-N", "-f", cf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ap := netip.MustParseAddrPort(addr)
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.DialTimeout("tcp", ap.String(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "cache.log"))
			t.Fatalf("squid did not listen on %s within 20s:\n%s", addr, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
