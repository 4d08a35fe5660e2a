package config

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/ranges"
)

func noEnv(t *testing.T) {
	t.Setenv(EnvICEServers, "")
	t.Setenv(EnvICEServersFile, "")
}

func loadYAML(t *testing.T, body string) *File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestBuildBadInput: every bad duration, capacity and profile is a
// one-line input error (exit code 2) naming the flag or key.
func TestBuildBadInput(t *testing.T) {
	noEnv(t)
	ok := Overrides{Region: "us-east-1"}
	cases := []struct {
		name string
		file string
		o    func(o *Overrides)
		want string
	}{
		{"negative duration", "", func(o *Overrides) { o.Duration = Given(-time.Second) }, "--duration -1s: must be positive"},
		{"zero duration flag", "duration: 10s\n", func(o *Overrides) { o.Duration = Given(time.Duration(0)) }, "--duration 0s: must be positive"},
		{"negative timeout", "", func(o *Overrides) { o.Timeout = Given(-3 * time.Second) }, "--timeout -3s: must be positive"},
		{"tiny duration", "", func(o *Overrides) { o.Duration = Given(time.Millisecond) }, "--duration 1ms: must be between 1s and 30m0s"},
		{"absurd duration", "", func(o *Overrides) { o.Duration = Given(24 * time.Hour) }, "--duration 24h0m0s: must be between"},
		{"absurd timeout", "", func(o *Overrides) { o.Timeout = Given(10 * time.Minute) }, "--timeout 10m0s: must be between 100ms and 2m0s"},
		{"tiny timeout in file", "timeout: 1ms\n", nil, "--timeout 1ms: must be between"},
		{"zero duration in file", "duration: 0s\n", nil, "--duration 0s: must be between"},
		{"unparsable duration in file", "duration: soon\n", nil, `config duration "soon": want a duration`},
		{"negative capacity", "", func(o *Overrides) { o.Capacity = Given(-1) }, "--capacity -1: must be between 1 and 200"},
		{"zero capacity", "", func(o *Overrides) { o.Capacity = Given(0) }, "--capacity 0: must be between 1 and 200 streams"},
		{"capacity over the cap", "", func(o *Overrides) { o.Capacity = Given(MaxCapacity + 1) }, "--capacity 201: must be between 1 and 200"},
		{"unknown profile", "", func(o *Overrides) { o.Profile = "loose" }, `unknown profile "loose": known profiles are connect, strict`},
		{"unknown profile in file", "profile: lax\n", nil, `unknown profile "lax"`},
		{"bad threshold", "thresholds: {loss_ratio: {warn: 0.05, fail: 0.01}}\n", nil, "thresholds.loss_ratio: want 0 ≤ warn ≤ fail"},
		{"bad mos threshold", "thresholds: {mos: {warn: 3, fail: 4}}\n", nil, "thresholds.mos: want 1 ≤ fail ≤ warn ≤ 5"},
		{"unknown threshold", "thresholds: {mos_ms: {warn: 1, fail: 2}}\n", nil, `unknown metric "mos_ms"`},
		{"bad dtls_role", "dtls_role: both\n", nil, `config dtls_role "both": want client`},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			o := ok
			if k.o != nil {
				k.o(&o)
			}
			var f *File
			if k.file != "" {
				f = loadYAML(t, k.file)
			}
			_, err := Build(f, o)
			if err == nil {
				t.Fatal("accepted")
			}
			if !IsInput(err) {
				t.Errorf("%v is not an input error (exit 2)", err)
			}
			if !strings.Contains(err.Error(), k.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line containing %q", err, k.want)
			}
		})
	}
}

func TestBuildGoodInput(t *testing.T) {
	noEnv(t)
	c, err := Build(nil, Overrides{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Duration != DefaultDuration || c.Capacity != 0 || c.Thresholds.Profile != "connect" {
		t.Errorf("defaults: duration %v capacity %d profile %s", c.Duration, c.Capacity, c.Thresholds.Profile)
	}
	c, err = Build(loadYAML(t, "duration: 2m\nprofile: strict\nthresholds: {rtt_ms: {warn: 150, fail: 300}}\n"),
		Overrides{Region: "us-east-1", Capacity: Given(MaxCapacity)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Duration != 2*time.Minute || c.Capacity != 200 || c.Thresholds.RTTMS.Warn != 150 || c.Thresholds.Sources["rtt_ms"] != "configured in --config" {
		t.Errorf("got duration %v capacity %d rtt %+v source %q", c.Duration, c.Capacity, c.Thresholds.RTTMS, c.Thresholds.Sources["rtt_ms"])
	}
	if c.Thresholds.Sources["jitter_ms"] == "" {
		t.Error("profile sources lost when one threshold is overridden")
	}
	// Flags override the file.
	c, err = Build(loadYAML(t, "duration: 2m\n"), Overrides{Region: "us-east-1", Duration: Given(10 * time.Second)})
	if err != nil || c.Duration != 10*time.Second {
		t.Errorf("flag did not override the file: %v %v", c, err)
	}
}

// TestBuildTargets: Targets replace what a run reaches (ports, resolver,
// roots, credentials, ranges) after the file and flags are validated, and
// leave the catalog's own endpoints untouched.
func TestBuildTargets(t *testing.T) {
	noEnv(t)
	region, _ := catalog.Lookup("us-east-1")
	roots := x509.NewCertPool()
	set := &ranges.Set{Source: "lab"}
	ice := []ICEServer{{URLs: []string{"turn:127.0.0.1:1?transport=udp"}, Username: "u", Credential: "c"}}
	tg := &Targets{HTTPSPort: 8443, TURNPorts: []int{1, 2}, Resolver: "127.0.0.1:5353", Roots: roots, ICEServers: ice, Ranges: set}
	c, err := Build(loadYAML(t, "proxy: http://proxy.corp:3128\n"), Overrides{Region: "us-east-1", Targets: tg})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range c.TURN {
		if e.Host != region.TURN[i].Host || e.Port != 1+i%2 {
			t.Errorf("TURN %d = %s", i, e.Addr())
		}
	}
	if region.TURN[0].Port != 3478 {
		t.Error("Build wrote into the catalog's own data")
	}
	for _, e := range c.HTTPS {
		if e.Port != 8443 {
			t.Errorf("HTTPS %s", e.Addr())
		}
	}
	if !c.Lab || c.Resolver != tg.Resolver || c.Roots != roots || c.Proxy != nil || c.Ranges != set || len(c.ICEServers) != 1 {
		t.Errorf("lab %v resolver %q roots %v proxy %v ranges %v ice %v", c.Lab, c.Resolver, c.Roots, c.Proxy, c.Ranges, c.ICEServers)
	}
	// A bad file is still an error with targets.
	if _, err := Build(loadYAML(t, "proxy: socks://x\n"), Overrides{Region: "us-east-1", Targets: tg}); err == nil {
		t.Error("bad proxy accepted under Targets")
	}
}

func TestSecrets(t *testing.T) {
	c := &Config{ICEServers: []ICEServer{{Username: "1732480000:agent-x", Credential: "dG9wLXNlY3JldC1jcmVk"}, {Username: "b", Credential: "c"}}}
	if got := strings.Join(c.Secrets(), ","); got != "1732480000:agent-x,dG9wLXNlY3JldC1jcmVk,b,c" {
		t.Errorf("Secrets() = %q", got)
	}
	if (&Config{}).Secrets() != nil {
		t.Error("no ICE servers: want nil")
	}
}
