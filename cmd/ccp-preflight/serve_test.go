package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/report"
)

// offline leaves out every check that sends traffic: only local checks run.
const offline = "ranges.membership,dns,tcp,tls,signaling,env,stun,turn,path,nat,media,capacity"

func TestServeBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "nope", "--region", "us-east-1"}, `--listen "nope": want IP:PORT`},
		{[]string{"--listen", "example.com:9469", "--region", "us-east-1"}, "not a host name"},
		{[]string{"--listen", "127.0.0.1:70000", "--region", "us-east-1"}, "port must be a number from 0 to 65535"},
		{[]string{"--listen", "127.0.0.1:+80", "--region", "us-east-1"}, "port must be a number from 0 to 65535"},
		{[]string{"--interval", "1s", "--region", "us-east-1"}, "--interval 1s: must be between 10s"},
		{[]string{"--interval", "48h", "--region", "us-east-1"}, "--interval 48h0m0s: must be between"},
		{[]string{"--interval", "soon", "--region", "us-east-1"}, `invalid value "soon" for flag -interval`},
		{[]string{"--format", "html", "--region", "us-east-1"}, "--format does not apply to serve"},
		{[]string{"--out", "x.json", "--region", "us-east-1"}, "--out does not apply to serve"},
		{[]string{"--region", "xx-nowhere-1"}, `unknown region "xx-nowhere-1"`},
		{[]string{"--region", "us-east-1", "extra"}, `unexpected argument "extra"`},
		// The check flags are checked as check checks them (preflight.Build).
		{[]string{"--region", "us-east-1", "--duration", "0"}, "--duration 0s: must be positive"},
		{[]string{"--region", "us-east-1", "--timeout", "-1s"}, "--timeout -1s: must be positive"},
		{[]string{"--region", "us-east-1", "--capacity", "0"}, "--capacity 0: must be between 1 and 200 streams"},
	} {
		var out, errb bytes.Buffer
		code := serve(context.Background(), tc.args, &out, &errb, nil)
		if code != exitInput || !strings.Contains(errb.String(), tc.want) || strings.Count(errb.String(), "\n") != 1 || out.Len() != 0 {
			t.Errorf("serve %q: exit %d, stderr %q; want exit 2 and one line with %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

func TestServeListenInUse(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, _ := startServe(t, ctx, "--listen", "127.0.0.1:0", "--interval", "10s", "--region", "us-east-1", "--skip", offline)
	var errb bytes.Buffer
	if code := serve(context.Background(), []string{"--listen", addr, "--region", "us-east-1", "--skip", offline}, io.Discard, &errb, nil); code != exitInput || !strings.Contains(errb.String(), "address already in use") {
		t.Errorf("second serve on %s: exit %d %q", addr, code, errb.String())
	}
	cancel()
	<-done
}

// startServe runs serve in the background and returns its address, a
// channel closed with its exit, and its stderr.
func startServe(t *testing.T, ctx context.Context, args ...string) (string, chan int, *syncBuf) {
	t.Helper()
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	errb := &syncBuf{}
	go func() {
		done <- serve(ctx, args, io.Discard, errb, func(a string) { addrc <- a })
		close(done)
	}()
	select {
	case a := <-addrc:
		return a, done, errb
	case code := <-done:
		t.Fatalf("serve exited %d before listening: %s", code, errb.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not listen within 20s")
	}
	return "", nil, nil
}

// waitReport polls /report until the first run finished.
func waitReport(t *testing.T, base string, within time.Duration) *report.Report {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/report")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				var r report.Report
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatalf("/report: %v", err)
				}
				return &r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no report from %s within %v", base, within)
	return nil
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeOffline runs the real serve command (flags, preflight.Run, the
// exporter, HTTP) with every network check skipped: the wiring, not the
// probes.
func TestServeOffline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, errb := startServe(t, ctx, "--listen", "127.0.0.1:0", "--interval", "10s", "--region", "eu-west-2", "--skip", offline)
	base := "http://" + addr
	r := waitReport(t, base, 5*time.Second)
	if r.Region != "eu-west-2" || r.Schema != report.Schema {
		t.Errorf("report region %q schema %q", r.Region, r.Schema)
	}
	code, body := fetch(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "ccp_preflight_last_run_timestamp_seconds ") || !strings.Contains(body, `ccp_preflight_info{connect_instance="",`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, body = fetch(t, base+"/healthz"); code != 200 || !strings.HasPrefix(body, "ok: 1 run(s)") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body = fetch(t, base+"/report?region=us-east-1&format=text"); code != 200 || !strings.Contains(body, "region eu-west-2") {
		t.Errorf("a query parameter changed the region: %d %q", code, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exit %d after cancel, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of its context ending")
	}
	if !strings.Contains(errb.String(), "listening on http://127.0.0.1:") || !strings.Contains(errb.String(), "run 1 took") {
		t.Errorf("stderr: %s", errb.String())
	}
}

// TestServeLabEndToEnd runs serve --lab: the real probes against the lab's
// loopback servers, scraped over HTTP.
func TestServeLabEndToEnd(t *testing.T) {
	if l, err := lab.Start(context.Background()); err != nil {
		t.Skipf("the lab cannot start in this build (%v): skipping serve --lab", err)
	} else {
		l.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, errb := startServe(t, ctx, "--listen", "127.0.0.1:0", "--lab", "--interval", "30s", "--duration", "1s")
	base := "http://" + addr
	r := waitReport(t, base, 30*time.Second)
	if r.Verdict != "pass" {
		var b bytes.Buffer
		report.Text(&b, r, report.Options{})
		t.Errorf("serve --lab verdict %s, want pass:\n%s", r.Verdict, b.String())
	}
	_, body := fetch(t, base+"/metrics")
	for _, want := range []string{`ccp_preflight_check_success{check="stun.binding"`, `ccp_preflight_verdict{verdict="pass"} 1`, "ccp_preflight_rtt_seconds{"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Every measurement of the run is a series on /metrics (rtt, jitter,
	// loss and MOS once media.quality measures).
	names := map[string]string{"rtt_ms": "ccp_preflight_rtt_seconds", "jitter_ms": "ccp_preflight_jitter_seconds", "loss_ratio": "ccp_preflight_loss_ratio", "mos": "ccp_preflight_mos"}
	for _, c := range r.Checks {
		for k := range c.Metrics {
			if n, ok := names[k]; ok && !strings.Contains(body, n+`{check="`+c.ID+`",target="`+c.Target+`"}`) {
				t.Errorf("/metrics lacks %s for %s %s", n, c.ID, c.Target)
			}
		}
	}
	if code, html := fetch(t, base+"/report.html"); code != 200 || !strings.Contains(html, `<h1 id="verdict">READY`) {
		t.Errorf("/report.html: %d", code)
	}
	cancel()
	<-done
	_ = errb
}

func TestCheckNagiosExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		code  int
		first string
	}{
		{[]string{"check", "--format", "nagios", "--region", "xx-nowhere-1"}, 3, `CCP-PREFLIGHT UNKNOWN - --region: unknown region "xx-nowhere-1"`},
		{[]string{"check", "--format=nagios", "--bogus"}, 3, "CCP-PREFLIGHT UNKNOWN - flag provided but not defined: -bogus"},
		{[]string{"check", "--format", "nagios", "--region", "us-east-1", "--skip", "r,d,t,e,s,p,n,m,c,b", "--no-progress"}, 3, "CCP-PREFLIGHT UNKNOWN - "},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.HasPrefix(out.String(), tc.first) {
			t.Errorf("%q: exit %d, stdout %q; want %d and %q", tc.args, code, out.String(), tc.code, tc.first)
		}
	}
	// Without nagios, an input error stays exit 2 and help prints once.
	var out, errb bytes.Buffer
	if code := run([]string{"check", "--bogus"}, &out, &errb); code != exitInput || out.Len() != 0 {
		t.Errorf("check --bogus: exit %d, stdout %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"check", "--help"}, &out, &errb); code != exitOK || strings.Count(out.String(), "Usage:") != 1 {
		t.Errorf("check --help: exit %d, %d usages", code, strings.Count(out.String(), "Usage:"))
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestValidateInterval(t *testing.T) {
	if err := validateInterval(time.Minute, 12*time.Second); err != nil {
		t.Errorf("1m for a 12s run: %v", err)
	}
	err := validateInterval(30*time.Second, 35500*time.Millisecond)
	if err == nil || err.Error() != "--interval 30s: must be longer than one run (35.5s with this --timeout and --duration)" {
		t.Errorf("30s for a 35.5s run: %v", err)
	}
}
