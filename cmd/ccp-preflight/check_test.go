package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/ranges"
)

// jsonReport is the ccp-preflight/report/v1 document as a reader sees it.
type jsonReport struct {
	Schema     string  `json:"schema"`
	Version    string  `json:"version"`
	StartedAt  string  `json:"started_at"`
	DurationMS float64 `json:"duration_ms"`
	Region     string  `json:"region"`
	Ranges     struct {
		Source     string `json:"source"`
		CreateDate string `json:"create_date"`
	} `json:"ranges"`
	Verdict string `json:"verdict"`
	Checks  []struct {
		ID, Target, Address, Status, Phase, Reason, Remedy string
		DurationMS                                         float64 `json:"duration_ms"`
	} `json:"checks"`
}

// connChecks are the checks of the connectivity work; in the lab each must
// pass (or be skipped with a reason).
var connChecks = []string{"dns.resolve", "ranges.membership", "tcp.connect", "tls.handshake", "signaling.websocket", "signaling.latency", "env.proxy"}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestCheckLabJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "check", "--lab", "--format", "json", "--skip", "media", "--no-progress")
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, out)
	}
	if rep.Schema != "ccp-preflight/report/v1" || rep.Region != "us-east-1" || rep.Ranges.Source != "lab" || rep.StartedAt == "" || rep.Verdict == "" {
		t.Errorf("report header = %+v", rep)
	}
	seen := map[string]int{}
	for _, c := range rep.Checks {
		if c.ID == "" || c.Status == "" {
			t.Errorf("check without id or status: %+v", c)
		}
		if strings.HasPrefix(c.ID, "media.") && (c.Status != "skip" || c.Reason != "not tested: left out by --skip media") {
			t.Errorf("--skip media ran %s (%s: %s), want it listed as left out", c.ID, c.Status, c.Reason)
		}
		for _, id := range connChecks {
			if c.ID != id {
				continue
			}
			if c.Status == "pass" {
				seen[id]++
			} else if c.Status != "skip" {
				t.Errorf("%s %s: %s (%s: %s; remedy %s)", c.ID, c.Target, c.Status, c.Phase, c.Reason, c.Remedy)
			}
		}
		if c.Status == "fail" {
			t.Errorf("lab check failed: %s %s: %s", c.ID, c.Target, c.Reason)
		}
	}
	for _, id := range connChecks {
		if seen[id] == 0 {
			t.Errorf("%s: no passing result in the lab", id)
		}
	}
	if code != exitOK {
		t.Errorf("exit code %d, want 0 (stderr %q)", code, errOut)
	}
}

// TestCheckLabText: a healthy run's text is the first screen only — the
// verdict, "nothing to change", the summary — in at most 20 lines;
// --verbose adds every check.
func TestCheckLabText(t *testing.T) {
	code, out, _ := runCLI(t, "check", "--lab", "--duration", "1s", "--skip", "signaling", "--no-progress")
	if code != exitOK || !strings.HasPrefix(out, "READY") {
		t.Errorf("exit %d, first line %q", code, strings.SplitN(out, "\n", 2)[0])
	}
	if n := strings.Count(out, "\n"); n > 20 || !strings.Contains(out, "Nothing to change") || !strings.Contains(out, "UDP 3478            reachable: all 5 TURN servers answer") {
		t.Errorf("%d lines, want ≤ 20 with the summary:\n%s", n, out)
	}
	if strings.Contains(out, "PASS  ") {
		t.Errorf("per-check lines without --verbose:\n%s", out)
	}
	_, verbose, _ := runCLI(t, "check", "--lab", "--skip", "media,signaling", "--no-progress", "--verbose")
	if !strings.Contains(verbose, "PASS  stun.binding") || !strings.Contains(verbose, "\nDNS\n") {
		t.Errorf("--verbose lacks the checks:\n%s", verbose)
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown region", []string{"--region", "xx-nowhere-1"}, []string{`unknown region "xx-nowhere-1"`, "us-east-1", "eu-west-2", "ap-southeast-2"}},
		{"missing region", nil, []string{"--region is required", "us-east-1"}},
		{"malformed config", []string{"--config", writeFile(t, "bad.yaml", "region: [us-east-1\n")}, []string{"config", "bad.yaml"}},
		{"unknown config key", []string{"--config", writeFile(t, "typo.yaml", "region: us-east-1\nregoin: us-west-2\n")}, []string{"regoin"}},
		{"missing config", []string{"--config", "/nonexistent/site.yaml"}, []string{"--config", "/nonexistent/site.yaml"}},
		{"bad duration", []string{"--region", "us-east-1", "--duration", "five"}, []string{"-duration", "five"}},
		{"duration out of range", []string{"--region", "us-east-1", "--duration", "1h"}, []string{"--duration 1h0m0s", "between"}},
		{"bad timeout", []string{"--region", "us-east-1", "--timeout", "-3s"}, []string{"--timeout"}},
		{"timeout out of range", []string{"--region", "us-east-1", "--timeout", "10m"}, []string{"--timeout 10m0s", "between"}},
		{"bad format", []string{"--region", "us-east-1", "--format", "xml"}, []string{`unknown --format "xml"`, "json"}},
		{"bad fail-on", []string{"--region", "us-east-1", "--fail-on", "skip"}, []string{"--fail-on"}},
		{"malformed ice servers", []string{"--region", "us-east-1", "--ice-servers", writeFile(t, "ice.json", `[{"urls":["turn:h:3478"],"username":"u",`)}, []string{"ice servers", "invalid JSON"}},
		{"ice server bad url", []string{"--region", "us-east-1", "--ice-servers", writeFile(t, "ice.json", `[{"urls":["http://h:3478"],"username":"u","credential":"topsecret-1"}]`)}, []string{"turn: or turns:"}},
		{"ice server bad port", []string{"--region", "us-east-1", "--ice-servers", writeFile(t, "ice.json", `[{"urls":["turn:h:99999"],"username":"u","credential":"topsecret-1"}]`)}, []string{"bad port"}},
		{"bad instance", []string{"--region", "us-east-1", "--instance", "not an alias!"}, []string{"--instance"}},
		{"stray argument", []string{"--region", "us-east-1", "extra"}, []string{`unexpected argument "extra"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"check"}, c.args...)...)
			if code != exitInput {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitInput, errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") {
				t.Errorf("stderr is not one line: %q", errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "topsecret-1") {
				t.Errorf("credential in the error: %q", errOut)
			}
		})
	}
}

// TestCheckNeverPrintsCredentials points a real (non-lab) run at local
// servers through --config, with TURN credentials from --ice-servers, and
// looks for them in every output.
func TestCheckNeverPrintsCredentials(t *testing.T) {
	const user, secret = "agent-user-7f3c9e", "cred-5b1d8a2e9c"
	ca, err := lab.NewCA("ccp-preflight test CA")
	if err != nil {
		t.Fatal(err)
	}
	web, err := lab.StartHTTPS(ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	dnsSrv, err := lab.StartDNS(lab.DNSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dnsSrv.Close()
	turnSrv, err := lab.StartTURN(lab.TURNOptions{Username: user, Password: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer turnSrv.Close()
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ice := fmt.Sprintf(`[{"urls":["turn:127.0.0.1:%d?transport=udp"],"username":%q,"credential":%q}]`, turnSrv.Port, user, secret)
	if err := os.WriteFile(filepath.Join(dir, "ice.json"), []byte(ice), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`region: us-east-1
resolver: %s
ca_files: [ca.pem]
https_endpoints: ["rtc.connect-telecom.us-east-1.amazonaws.com:%d"]
turn_servers: ["turn.test.example:%d"]
ice_servers_file: ice.json
timeout: 3s
`, dnsSrv.Addr, web.Port, turnSrv.Port)
	cfgPath := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		code, out, errOut := runCLI(t, "check", "--config", cfgPath, "--format", format, "--skip", "media", "--no-progress")
		if code == exitInput {
			t.Fatalf("%s: input error: %s", format, errOut)
		}
		for _, s := range []string{user, secret} {
			if strings.Contains(out, s) || strings.Contains(errOut, s) {
				t.Errorf("%s output contains the credential %q", format, s)
			}
		}
		if format == "json" {
			var rep jsonReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("json: %v", err)
			}
			// Not the lab: loopback answers and the embedded ranges warn,
			// and trust through ca_files is flagged; TCP itself passes.
			for _, c := range rep.Checks {
				if c.ID == "tcp.connect" && c.Status != "pass" {
					t.Errorf("tcp.connect = %s: %s", c.Status, c.Reason)
				}
				if c.ID == "tls.handshake" && (c.Status != "warn" || !strings.Contains(c.Reason, "ca_files")) {
					t.Errorf("tls.handshake = %s: %s", c.Status, c.Reason)
				}
			}
		}
	}
	if code, _, _ := runCLI(t, "check", "--config", cfgPath, "--skip", "media", "--no-progress", "--fail-on", "warn"); code != exitFail {
		t.Errorf("--fail-on warn with warnings: exit %d, want %d", code, exitFail)
	}
}

func TestCheckUnreachableEndpointExitsOne(t *testing.T) {
	dnsSrv, err := lab.StartDNS(lab.DNSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dnsSrv.Close()
	for _, k := range []string{"HTTPS_PROXY", "https_proxy"} {
		t.Setenv(k, "")
	}
	// Port 1 on loopback: nothing listens, the kernel refuses.
	cfg := writeFile(t, "site.yaml", fmt.Sprintf("region: us-east-1\nresolver: %s\nhttps_endpoints: [\"rtc.connect-telecom.us-east-1.amazonaws.com:1\"]\nturn_servers: [\"turn.test.example:1\"]\n", dnsSrv.Addr))
	code, out, _ := runCLI(t, "check", "--config", cfg, "--skip", "media,stun,turn,path,nat,env.vpn", "--no-progress", "--format", "json")
	if code != exitFail {
		t.Errorf("exit %d, want %d", code, exitFail)
	}
	if !strings.Contains(out, `"phase": "connect"`) || !strings.Contains(out, "was refused") {
		t.Errorf("report lacks the refused connect:\n%s", out)
	}
}

// BenchmarkCheckLab is `check --lab --skip media,signaling` in process (the
// signaling WebSocket is held for the CCP's 10 s heartbeat by design): the lab's
// servers start, every check runs, the JSON report renders.
func BenchmarkCheckLab(b *testing.B) {
	for b.Loop() {
		var o, e bytes.Buffer
		if code := run([]string{"check", "--lab", "--skip", "media,signaling", "--no-progress", "--format", "json"}, &o, &e); code != exitOK {
			b.Fatalf("exit %d: %s", code, e.String())
		}
	}
}

// TestExplicitZeroIsRejected: a zero given on the command line is an
// input error, not a silent "use the default".
func TestExplicitZeroIsRejected(t *testing.T) {
	for _, args := range [][]string{
		{"check", "--lab", "--duration", "0"},
		{"check", "--lab", "--timeout", "0s"},
		{"check", "--lab", "--capacity", "0"},
	} {
		var out, errb strings.Builder
		if code := run(args, &out, &errb); code != exitInput {
			t.Errorf("%v: exit %d, want %d", args, code, exitInput)
		}
		if msg := errb.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "--"+strings.TrimPrefix(args[2], "--")) {
			t.Errorf("%v: stderr %q, want one line naming the flag", args, msg)
		}
	}
}

// TestCheckSaysWhenTheCacheIsBroken: a damaged cached ranges file is
// passed over for the embedded copy, and the run says so on stderr.
func TestCheckSaysWhenTheCacheIsBroken(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	if err := os.MkdirAll(filepath.Join(cache, "ccp-preflight"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "ccp-preflight", ranges.CacheFile), []byte(`{"syncToken":`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	// Only ranges.freshness runs: no traffic at all.
	args := []string{"check", "--region", "us-east-1", "--no-progress", "--skip", "dns,ranges.membership,tcp,tls,env,stun,turn,path,nat,media,capacity,signaling,browser"}
	code := run(args, &out, &errb)
	// Only the ranges file's age was checked: nothing of the network, so
	// no verdict (NOT CHECKED, exit 3).
	if code != exitIncomplete {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "note: ") || !strings.Contains(errb.String(), ranges.CacheFile) {
		t.Errorf("stderr %q: want a note naming the broken cache", errb.String())
	}
	if !strings.Contains(out.String(), "the copy built into this program") {
		t.Errorf("stdout %q: want the embedded copy in use", out.String())
	}
}
