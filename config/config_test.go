package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{"negative duration", "", func(o *Overrides) { o.Duration = -time.Second }, "--duration -1s: must be between 1s and 30m0s"},
		{"tiny duration", "", func(o *Overrides) { o.Duration = time.Millisecond }, "--duration 1ms: must be between"},
		{"absurd duration", "", func(o *Overrides) { o.Duration = 24 * time.Hour }, "--duration 24h0m0s: must be between"},
		{"zero duration in file", "duration: 0s\n", nil, "--duration 0s: must be between"},
		{"unparsable duration in file", "duration: soon\n", nil, `config duration "soon": want a duration`},
		{"negative capacity", "", func(o *Overrides) { o.Capacity = -1 }, "--capacity -1: must be between 1 and 200"},
		{"capacity over the cap", "", func(o *Overrides) { o.Capacity = MaxCapacity + 1 }, "--capacity 201: must be between 1 and 200"},
		{"unknown profile", "", func(o *Overrides) { o.Profile = "loose" }, `unknown profile "loose": known profiles are connect, strict`},
		{"unknown profile in file", "profile: lax\n", nil, `unknown profile "lax"`},
		{"bad threshold", "thresholds: {loss_ratio: {warn: 0.05, fail: 0.01}}\n", nil, "thresholds.loss_ratio: want 0 ≤ warn ≤ fail"},
		{"bad mos threshold", "thresholds: {mos: {warn: 3, fail: 4}}\n", nil, "thresholds.mos: want 1 ≤ fail ≤ warn ≤ 5"},
		{"unknown threshold", "thresholds: {mos_ms: {warn: 1, fail: 2}}\n", nil, `unknown metric "mos_ms"`},
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
		Overrides{Region: "us-east-1", Capacity: MaxCapacity})
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
	c, err = Build(loadYAML(t, "duration: 2m\n"), Overrides{Region: "us-east-1", Duration: 10 * time.Second})
	if err != nil || c.Duration != 10*time.Second {
		t.Errorf("flag did not override the file: %v %v", c, err)
	}
}
