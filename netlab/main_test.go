//go:build linux

package netlab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/netlab"
)

// labParallel is how many lab tests run at once: each lab is its own set
// of namespaces, so they do not disturb each other, and most of a scenario's
// time is waiting on timeouts, not CPU. go test's default (GOMAXPROCS, 2
// here) would serialise the suite past its 3-minute budget.
const labParallel = "16"

var (
	binDir   string
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildErr = map[string]error{}
)

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", labParallel)
	}
	var err error
	if binDir, err = os.MkdirTemp("", "netlab-test-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// An interrupt (Ctrl-C, or go test's timeout) still tears every lab
	// down: processes by PID, namespaces by name.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		netlab.CloseAll()
		os.RemoveAll(binDir)
		fmt.Fprintf(os.Stderr, "netlab tests: %v: labs torn down\n", s)
		os.Exit(1)
	}()
	code := m.Run()
	netlab.CloseAll()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// needLab skips a test that needs root, nft, ip and coturn, saying which.
func needLab(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the network lab needs Linux network namespaces")
	}
	if miss := netlab.CheckHost(); miss != "" {
		t.Skipf("network lab skipped: this machine lacks %s (CI runs as root with them installed)", miss)
	}
}

// build compiles a package of this module once per test run.
func build(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if err, ok := buildErr[pkg]; ok {
		t.Fatal(err)
	}
	out := filepath.Join(binDir, filepath.Base(pkg))
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "github.com/ccp-preflight/ccp-preflight/"+pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		buildErr[pkg] = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		t.Fatal(buildErr[pkg])
	}
	built[pkg] = out
	return out
}

// startLab starts a lab named o.Name plus this test process's id (each
// test its own namespaces, and two suites on one machine never delete each
// other's) and tears it down when the test ends, also when it fails.
func startLab(t *testing.T, o netlab.Options) *netlab.Lab {
	t.Helper()
	o.Name = fmt.Sprintf("%s%d", o.Name, os.Getpid())
	o.Helper = build(t, "netlab/cmd/netlab")
	o.Dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := netlab.Start(ctx, o)
	if err != nil {
		t.Fatalf("lab %s: %v", o.Name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"labd.log", "turn1.log", "bridge.log"} {
				if b, err := os.ReadFile(l.File(f)); err == nil && len(b) > 0 {
					tail := string(b)
					if len(tail) > 1500 {
						tail = tail[len(tail)-1500:]
					}
					t.Logf("%s %s:\n%s", o.Name, f, tail)
				}
			}
		}
		l.Close()
	})
	return l
}

// Report is the part of the ccp-preflight/report/v1 JSON the scenarios read.
type Report struct {
	Schema  string  `json:"schema"`
	Verdict string  `json:"verdict"`
	Checks  []Check `json:"checks"`
}

// Check is one result of the report.
type Check struct {
	ID      string             `json:"id"`
	Target  string             `json:"target"`
	Address string             `json:"address"`
	Status  string             `json:"status"`
	Phase   string             `json:"phase"`
	Reason  string             `json:"reason"`
	Remedy  string             `json:"remedy"`
	Metrics map[string]float64 `json:"metrics"`
	Details map[string]string  `json:"details"`
}

func (c Check) String() string {
	return fmt.Sprintf("%s %s [%s] phase=%q reason=%q remedy=%q metrics=%v details=%v",
		c.ID, c.Target, c.Status, c.Phase, c.Reason, c.Remedy, c.Metrics, c.Details)
}

// checkBudget bounds one run of the binary: its own deadline is --timeout
// plus --duration plus a grace, so this only catches a hang.
const checkBudget = 90 * time.Second

// runCheck runs the built binary inside the agent namespace as a user
// does, from the lab's directory, and returns its report and exit code.
func runCheck(t *testing.T, l *netlab.Lab, extra ...string) (Report, int) {
	t.Helper()
	return runCheckAs(t, l, false, extra...)
}

// runCheckAs is runCheck; timing runs the binary ahead of ordinary load
// (netlab.AheadOfLoad), for the measurement scenario on a shared machine.
func runCheckAs(t *testing.T, l *netlab.Lab, timing bool, extra ...string) (Report, int) {
	t.Helper()
	return runCheckWith(t, l, timing, nil, extra...)
}

// runCheckEnv is runCheck with extra environment variables (a proxy's
// settings, its credentials).
func runCheckEnv(t *testing.T, l *netlab.Lab, env []string, extra ...string) (Report, int) {
	t.Helper()
	return runCheckWith(t, l, false, env, extra...)
}

func runCheckWith(t *testing.T, l *netlab.Lab, timing bool, env []string, extra ...string) (Report, int) {
	t.Helper()
	bin := build(t, "cmd/ccp-preflight")
	args := append([]string{"check", "--config", netlab.FileConfig, "--ranges", netlab.FileRanges,
		"--format", "json", "--no-progress", "--ice-servers", netlab.FileCreds}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), checkBudget)
	defer cancel()
	name := bin
	if timing {
		name, args = netlab.AheadOfLoad(bin, args...)
	}
	cmd := netlab.InNS(ctx, l.Agent(), name, args...)
	cmd.Dir = l.Dir
	cmd.Env = append(append(os.Environ(), l.Env()...), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	t.Logf("check %s: exit %d in %v", strings.Join(extra, " "), code, time.Since(start).Round(time.Millisecond))
	var r Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("check exit %d: stdout is not a JSON report (%v): %.500s\nstderr: %.500s", code, err, stdout.String(), stderr.String())
	}
	if r.Schema != "ccp-preflight/report/v1" {
		t.Errorf("schema %q, want ccp-preflight/report/v1", r.Schema)
	}
	// The lab's TURN password must never appear in any output.
	if pw, _ := os.ReadFile(l.File("turn.secret")); len(pw) > 0 &&
		(bytes.Contains(stdout.Bytes(), pw) || bytes.Contains(stderr.Bytes(), pw)) {
		t.Errorf("the TURN credential appears in the check's output")
	}
	if t.Failed() || testing.Verbose() {
		for _, c := range r.Checks {
			t.Logf("  %v", c)
		}
	}
	return r, code
}

// find returns the checks with id whose target contains target.
func (r Report) find(id, target string) []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.ID == id && strings.Contains(c.Target, target) {
			out = append(out, c)
		}
	}
	return out
}

// want describes an expected result.
type want struct {
	id, target string
	// status is the set of acceptable statuses ("fail", "warn|fail").
	status string
	// phase matches the phase (nil: any non-empty phase, for failures).
	phase *regexp.Regexp
	// reason and remedy must all match (case-insensitive regexps).
	reason, remedy []string
}

// expect asserts that a check matching w.id/w.target exists and that every
// one of them has the wanted status, phase, reason and remedy.
func expect(t *testing.T, r Report, w want) {
	t.Helper()
	cs := r.find(w.id, w.target)
	if len(cs) == 0 {
		t.Errorf("no %s check for target %q in the report", w.id, w.target)
		return
	}
	for _, c := range cs {
		if !regexp.MustCompile("^(" + w.status + ")$").MatchString(c.Status) {
			t.Errorf("%s %s: status %s, want %s (reason %q)", c.ID, c.Target, c.Status, w.status, c.Reason)
			continue
		}
		if c.Status == "warn" || c.Status == "fail" {
			if c.Phase == "" {
				t.Errorf("%s %s: %s without a phase", c.ID, c.Target, c.Status)
			} else if w.phase != nil && !w.phase.MatchString(c.Phase) {
				t.Errorf("%s %s: phase %q, want %v", c.ID, c.Target, c.Phase, w.phase)
			}
			if c.Reason == "" || c.Remedy == "" {
				t.Errorf("%s %s: %s needs a reason and a remedy, got reason %q remedy %q", c.ID, c.Target, c.Status, c.Reason, c.Remedy)
			}
		}
		for _, re := range w.reason {
			if !regexp.MustCompile("(?i)" + re).MatchString(c.Reason) {
				t.Errorf("%s %s: reason %q does not match %q", c.ID, c.Target, c.Reason, re)
			}
		}
		for _, re := range w.remedy {
			if !regexp.MustCompile("(?i)" + re).MatchString(c.Remedy) {
				t.Errorf("%s %s: remedy %q does not match %q", c.ID, c.Target, c.Remedy, re)
			}
		}
	}
}

// expectVerdict asserts the verdict and the exit code that goes with it
// (README.md "Exit codes": 0 unless a check failed).
func expectVerdict(t *testing.T, r Report, code int, verdict string) {
	t.Helper()
	if r.Verdict != verdict {
		t.Errorf("verdict %s, want %s", r.Verdict, verdict)
	}
	wantCode := 0
	if verdict == "fail" {
		wantCode = 1
	}
	if code != wantCode {
		t.Errorf("exit code %d, want %d for verdict %s", code, wantCode, verdict)
	}
}

func execOut(name string, args ...string) (string, error) {
	b, err := exec.Command(name, args...).CombinedOutput()
	return string(b), err
}

// alive reports whether pid runs (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
