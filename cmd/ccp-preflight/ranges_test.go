package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rangesTestdata is the ranges package's test files.
const rangesTestdata = "../../ranges/testdata/"

// runCmd runs the CLI in-process with an empty user cache, so the data is
// the embedded copy unless --ranges says otherwise.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestRangesListConnectUSEast1(t *testing.T) {
	code, out, errOut := runCmd(t, "ranges", "list", "--service", "AMAZON_CONNECT", "--region", "us-east-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		got = append(got, f[0]+" "+f[1])
	}
	want := []string{"15.193.0.0/19 GLOBAL", "15.193.6.0/24 us-east-1", "52.55.191.224/27 us-east-1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("list printed\n%s\nwant exactly %v", out, want)
	}
	// The freshness goes to stderr, honestly: the embedded copy is from
	// 2026-08-22, stale after 2026-09-21.
	if !strings.Contains(errOut, "createDate 2026-08-22 15:17:05 UTC") {
		t.Errorf("stderr lacks the data's date: %q", errOut)
	}
	if time.Now().After(time.Date(2026, 9, 22, 0, 0, 0, 0, time.UTC)) && !strings.Contains(errOut, "STALE") {
		t.Errorf("stale data not called stale: %q", errOut)
	}
}

func TestRangesListVariants(t *testing.T) {
	// IPv6, aggregated: the region /48 lies inside the GLOBAL /40.
	code, out, _ := runCmd(t, "ranges", "list", "--service", "amazon_connect", "--region", "US-EAST-1", "--ipv6", "--aggregate")
	if code != 0 || strings.TrimSpace(out) != "2600:f0f2:7100::/40" {
		t.Fatalf("exit %d, out %q", code, out)
	}
	// --no-global leaves GLOBAL out.
	_, out, _ = runCmd(t, "ranges", "list", "--service", "AMAZON_CONNECT", "--region", "us-east-1", "--no-global")
	if strings.Contains(out, "GLOBAL") || !strings.Contains(out, "52.55.191.224/27") {
		t.Fatalf("--no-global: %q", out)
	}
	// An old file without network_border_group, given with --ranges.
	code, out, _ = runCmd(t, "ranges", "list", "--ranges", rangesTestdata+"old-format.json")
	if code != 0 || !strings.Contains(out, "13.32.0.0/15") || !strings.Contains(out, " -") {
		t.Fatalf("old file: exit %d %q", code, out)
	}
}

func TestRangesLookup(t *testing.T) {
	code, out, errOut := runCmd(t, "ranges", "lookup", "15.193.6.10", "2600:f0f2:7101::1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	blocks := strings.Split(out, "2600:f0f2:7101::1:")
	if len(blocks) != 2 {
		t.Fatalf("output: %q", out)
	}
	for i, b := range blocks {
		for _, want := range []string{"GLOBAL     AMAZON_CONNECT  GLOBAL", "us-east-1  AMAZON_CONNECT  us-east-1"} {
			if !strings.Contains(b, want) {
				t.Errorf("address %d: lacks %q in\n%s", i, want, b)
			}
		}
	}
	code, out, _ = runCmd(t, "ranges", "lookup", "192.0.2.1")
	if code != 1 || !strings.Contains(out, "192.0.2.1: in no published AWS range") {
		t.Fatalf("unknown address: exit %d %q", code, out)
	}
}

func TestRangesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, _ := os.ReadFile(rangesTestdata + "small.json")
	trunc := write("trunc.json", string(good[:300]))
	html := write("portal.json", "<html><body>Sign in to the Wi-Fi</body></html>")
	empty := write("empty.json", "")
	badCIDR := write("cidr.json", strings.Replace(string(good), "15.193.6.0/24", "15.193.6.0/99", 1))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ranges", "list", "--ranges", trunc}, trunc + ": byte 300: file ends early"},
		{[]string{"ranges", "list", "--ranges", html}, portalMsg(html)},
		{[]string{"ranges", "lookup", "--ranges", empty, "1.2.3.4"}, empty + ": file is empty"},
		{[]string{"ranges", "export", "--format", "csv", "--region", "us-east-1", "--ranges", badCIDR}, `invalid CIDR "15.193.6.0/99"`},
		{[]string{"ranges", "list", "--ranges", filepath.Join(dir, "missing.json")}, "missing.json: no such file or directory"},
		{[]string{"ranges", "list", "--service", "AMAZON_CONECT"}, `--service "AMAZON_CONECT": not in the embedded ip-ranges.json; did you mean "AMAZON_CONNECT"?`},
		{[]string{"ranges", "list", "--region", "us-est-1"}, `did you mean "us-east-1"?`},
		{[]string{"ranges", "export", "--format", "nftable", "--region", "us-east-1"}, `did you mean "nftables"?`},
		{[]string{"ranges", "export", "--format", "csv", "--region", "eu-wset-2"}, `did you mean "eu-west-2"?`},
		{[]string{"ranges", "export", "--format", "csv"}, "--region is required"},
		{[]string{"ranges", "export", "--format", "nftables", "--region", "us-east-1", "--nft-table", "filter"}, `--nft-table: nftables table "filter": want FAMILY NAME, e.g. "inet filter"`},
		{[]string{"ranges", "export", "--format", "nftables", "--region", "us-east-1", "--nft-table", "bridge filter"}, `family "bridge" has no IP rules here`},
		{[]string{"ranges", "export", "--format", "nftables", "--region", "us-east-1", "--nft-table", "inet fil;ter"}, `want FAMILY NAME`},
		{[]string{"ranges", "lookup", "15.193.6.300"}, `"15.193.6.300" is not an IP address`},
		{[]string{"ranges", "lookup"}, "give one or more IP addresses"},
		{[]string{"ranges", "diff", rangesTestdata + "small.json"}, "give two files"},
		{[]string{"ranges", "lst"}, `did you mean "list"?`},
		{[]string{"ranges", "update", "--url", "ftp://x"}, "want an http(s) URL"},
	} {
		code, out, errOut := runCmd(t, tc.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		last := lines[len(lines)-1]
		if code != 2 || !strings.Contains(last, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func portalMsg(path string) string { return path + ": byte 0: this is an HTML page" }

func TestRangesHelp(t *testing.T) {
	for _, sub := range []string{"list", "lookup", "export", "diff", "update"} {
		code, out, _ := runCmd(t, "ranges", sub, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "ccp-preflight ranges "+sub) {
			t.Errorf("ranges %s --help: exit %d\n%s", sub, code, out)
		}
	}
	if code, out, _ := runCmd(t, "ranges", "--help"); code != 0 || !strings.Contains(out, "Examples:") {
		t.Errorf("ranges --help: exit %d", code)
	}
}

func TestRangesDiff(t *testing.T) {
	small, newer := rangesTestdata+"small.json", rangesTestdata+"newer.json"
	code, out, errOut := runCmd(t, "ranges", "diff", small, newer)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (changed): %s %s", code, out, errOut)
	}
	for _, want := range []string{
		"old: " + small + " (createDate 2026-08-22-15-17-05 syncToken 1787411825)",
		"new: " + newer + " (createDate 2026-09-21-13-33-20 syncToken 1790000000)",
		"EC2 GLOBAL: 1 added, 1 removed", "  + 3.5.64.0/19", "  - 3.5.0.0/19",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff output lacks %q:\n%s", want, out)
		}
	}
	// Flags after the files; nothing changed for AMAZON_CONNECT: exit 0.
	code, out, _ = runCmd(t, "ranges", "diff", small, newer, "--service", "amazon_connect")
	if code != 0 || !strings.Contains(out, "no change (AMAZON_CONNECT)") {
		t.Fatalf("exit %d: %s", code, out)
	}
	if code, _, errOut := runCmd(t, "ranges", "diff", small, newer, "--service", "EC3"); code != 2 || !strings.Contains(errOut, `did you mean "EC2"?`) {
		t.Fatalf("bad service: exit %d %s", code, errOut)
	}
}

// TestRangesDiffRealFiles compares a real file AWS published in 2016
// (testdata/aws-2016-11-09.json, see docs/RANGES.md) with the embedded
// 2026-08-22 one: every AMAZON_CONNECT range is new since then.
func TestRangesDiffRealFiles(t *testing.T) {
	old := rangesTestdata + "aws-2016-11-09.json"
	if _, err := os.Stat(old); err != nil {
		t.Skip("no old real AWS file in testdata")
	}
	code, out, errOut := runCmd(t, "ranges", "diff", old, "embedded", "--service", "AMAZON_CONNECT")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"old: " + old + " (createDate 2016-11-09-21-59-08 syncToken 1478728748)",
		"new: embedded (createDate 2026-08-22-15-17-05 syncToken 1787411825)",
		"AMAZON_CONNECT GLOBAL: 2 added, 0 removed", "  + 15.193.0.0/19", "  + 2600:f0f2:7100::/40",
		"AMAZON_CONNECT us-east-1: 3 added, 0 removed", "  + 52.55.191.224/27",
		"total: 36 added, 0 removed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	// Real removals too: CloudFront gave up two GLOBAL blocks since 2016.
	code, out, _ = runCmd(t, "ranges", "diff", old, "embedded", "--service", "CLOUDFRONT")
	for _, want := range []string{"CLOUDFRONT GLOBAL: 132 added, 2 removed", "  - 54.230.0.0/16", "  - 205.251.192.0/19", "total: 225 added, 2 removed in 18 service/region pairs (CLOUDFRONT)"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("CLOUDFRONT diff (exit %d) lacks %q", code, want)
		}
	}
	code, out, _ = runCmd(t, "ranges", "diff", old, "embedded")
	if code != 1 || !strings.Contains(out, "total: 16158 added, 153 removed in 703 service/region pairs (all services)") {
		t.Fatalf("full diff: exit %d, %q", code, out[max(0, len(out)-200):])
	}
}

func TestRangesExportFormats(t *testing.T) {
	code, out, errOut := runCmd(t, "ranges", "export", "--format", "csv", "--region", "us-east-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	has := func(want ...string) bool {
		for _, r := range rows {
			if strings.Join(r, ",") == strings.Join(want, ",") {
				return true
			}
		}
		return false
	}
	for _, want := range [][]string{
		{"outbound", "udp", "15.193.0.0/19", "3478", "", "AMAZON_CONNECT", "GLOBAL", "GLOBAL", "2026-08-22-15-17-05"},
		{"outbound", "udp", "15.193.6.0/24", "3478", "", "AMAZON_CONNECT", "us-east-1", "us-east-1", "2026-08-22-15-17-05"},
		{"outbound", "udp", "2600:f0f2:7101::/48", "3478", "", "AMAZON_CONNECT", "us-east-1", "us-east-1", "2026-08-22-15-17-05"},
		{"inbound", "udp", "52.55.191.224/27", "3478", "32768-65535", "AMAZON_CONNECT", "us-east-1", "us-east-1", "2026-08-22-15-17-05"},
		{"outbound", "tcp", "15.193.6.0/24", "443", "", "EC2", "us-east-1", "us-east-1", "2026-08-22-15-17-05"},
	} {
		if !has(want...) {
			t.Errorf("csv lacks %v", want)
		}
	}
	for _, r := range rows[1:] {
		if r[5] == "AMAZON_CONNECT" && r[6] != "GLOBAL" && r[6] != "us-east-1" {
			t.Errorf("another region's Connect block: %v", r)
		}
		if r[5] == "EC2" && r[6] != "GLOBAL" && r[6] != "us-east-1" {
			t.Errorf("another region's EC2 block: %v", r)
		}
	}

	_, out, _ = runCmd(t, "ranges", "export", "--format", "json", "--region", "us-east-1")
	var doc struct {
		Schema     string `json:"schema"`
		CreateDate string `json:"create_date"`
		Rules      []struct {
			Direction, Protocol, Service, Comment string
			RemoteCIDR                            string `json:"remote_cidr"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Rules) == 0 || doc.CreateDate != "2026-08-22-15-17-05" {
		t.Fatalf("json: %v %+v", err, doc.CreateDate)
	}
	for _, r := range doc.Rules {
		if !strings.Contains(r.Comment, r.RemoteCIDR) || !strings.Contains(r.Comment, "createDate=2026-08-22-15-17-05") {
			t.Fatalf("rule comment %q does not name its entry and date", r.Comment)
		}
	}

	// A region without Connect blocks of its own in one family says so.
	code, _, errOut = runCmd(t, "ranges", "export", "--format", "cidr", "--region", "us-gov-west-1")
	if code != 0 || !strings.Contains(errOut, "us-gov-west-1 has no IPv4 AMAZON_CONNECT ranges of its own") || strings.Contains(errOut, "no IPv6") {
		t.Errorf("us-gov-west-1 note: exit %d %q", code, errOut)
	}

	_, out, _ = runCmd(t, "ranges", "export", "--format", "cidr", "--region", "us-east-1")
	if !strings.Contains(out, "\n15.193.0.0/19\n") || strings.Contains(out, "15.193.7.0/24") {
		t.Errorf("cidr list wrong")
	}
}

// TestRangesExportLoadsInNft loads the nftables export with nft -c (check
// only: nothing is installed) for both hooks: named sets and a regular
// chain, no base chain of its own (see TestNftExportOverridesSiteDrop).
func TestRangesExportLoadsInNft(t *testing.T) {
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("nft not installed (apt-get install nftables)")
	}
	if os.Geteuid() != 0 {
		t.Skip("nft -c needs root")
	}
	for _, hook := range []string{"forward", "output"} {
		code, out, errOut := runCmd(t, "ranges", "export", "--format", "nftables", "--region", "us-east-1", "--hook", hook)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, "15.193.6.0/24,\t# AMAZON_CONNECT us-east-1 15.193.6.0/24 nbg=us-east-1 createDate=2026-08-22-15-17-05") ||
			!strings.Contains(out, "ip daddr @ccp_connect_v4 udp dport 3478 accept") ||
			!strings.Contains(out, "ip saddr @ccp_connect_v4 udp sport 3478 udp dport 32768-65535 accept") ||
			!strings.Contains(out, "ip6 daddr @ccp_web_v6 tcp dport 443 accept") ||
			!strings.Contains(out, "nft insert rule inet filter "+map[string]string{"forward": "forward", "output": "output"}[hook]+" jump ccp_preflight") ||
			strings.Contains(out, "type filter hook") {
			t.Fatalf("nftables export lacks the Connect sets and chain (or makes a base chain):\n%.3000s", out)
		}
		f := filepath.Join(t.TempDir(), "connect.nft")
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		res, err := exec.CommandContext(ctx, nft, "-c", "-f", f).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("nft -c -f (hook %s): %v\n%s", hook, err, res)
		}
	}
}

// TestRangesExportNftIPTable: into an "ip" table (IPv4 only) the export
// has no IPv6 set or rule, and nft accepts it.
func TestRangesExportNftIPTable(t *testing.T) {
	code, out, errOut := runCmd(t, "ranges", "export", "--format", "nftables", "--region", "us-east-1", "--nft-table", "ip fw")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "ip6") || strings.Contains(out, "_v6") || !strings.Contains(out, "table ip fw {") || !strings.Contains(out, "nft insert rule ip fw forward jump ccp_preflight") {
		t.Fatalf("ip table export:\n%.1500s", out)
	}
	nft, err := exec.LookPath("nft")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("nft -c needs nft and root")
	}
	f := filepath.Join(t.TempDir(), "connect.nft")
	if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := exec.Command(nft, "-c", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("nft -c -f: %v\n%s", err, res)
	}
}

// TestRangesExportLoadsInIptables checks both families with
// iptables-restore --test (parses and builds, commits nothing).
func TestRangesExportLoadsInIptables(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("iptables-restore --test needs root")
	}
	for _, fam := range []struct{ cmd, flag, rule string }{
		{"iptables-restore", "", "-A CCP-PREFLIGHT-IN -s 15.193.6.0/24 -p udp -m udp --sport 3478 --dport 32768:65535"},
		{"ip6tables-restore", "--ipv6", "-A CCP-PREFLIGHT-OUT -d 2600:f0f2:7101::/48 -p udp -m udp --dport 3478"},
	} {
		bin, err := exec.LookPath(fam.cmd)
		if err != nil {
			t.Skipf("%s not installed (apt-get install iptables)", fam.cmd)
		}
		args := []string{"ranges", "export", "--format", "iptables", "--region", "us-east-1"}
		if fam.flag != "" {
			args = append(args, fam.flag)
		}
		code, out, errOut := runCmd(t, args...)
		if code != 0 || !strings.Contains(out, fam.rule) {
			t.Fatalf("%s export: exit %d %s\n%.1500s", fam.cmd, code, errOut, out)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, "--test", "--noflush")
		cmd.Stdin = strings.NewReader(out)
		res, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s --test: %v\n%s", fam.cmd, err, res)
		}
	}
}

func TestRangesUpdateCommand(t *testing.T) {
	body, err := os.ReadFile(rangesTestdata + "newer.json")
	if err != nil {
		t.Fatal(err)
	}
	var status int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != 0 {
			w.WriteHeader(status)
			w.Write([]byte("<html>captive portal</html>"))
			return
		}
		w.Write(body)
	}))
	defer ts.Close()
	dir := t.TempDir()
	code, out, errOut := runCmd(t, "ranges", "update", "--url", ts.URL, "--cache-dir", dir)
	if code != 0 || !strings.Contains(out, "updated "+filepath.Join(dir, "ip-ranges.json")+": createDate 2026-09-21-13-33-20") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	status = http.StatusOK // an HTML page with 200, as captive portals send
	code, _, errOut = runCmd(t, "ranges", "update", "--url", ts.URL, "--cache-dir", dir)
	if code != 2 || !strings.Contains(errOut, "HTML page") || !strings.Contains(errOut, "the cache is unchanged") {
		t.Fatalf("portal: exit %d %s", code, errOut)
	}
	status = http.StatusBadGateway
	code, _, errOut = runCmd(t, "ranges", "update", "--url", ts.URL, "--cache-dir", dir)
	if code != 1 || !strings.Contains(errOut, "HTTP 502") {
		t.Fatalf("502: exit %d %s", code, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ip-ranges.json")); !bytes.Equal(got, body) {
		t.Fatal("the cache changed")
	}
}
