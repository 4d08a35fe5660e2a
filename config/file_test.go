package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileFullExample(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "creds.json", goodICE)
	p := writeFile(t, dir, "site.yaml", `
region: eu-west-2
instance: https://MyAlias.my.connect.aws/ccp-v2
resolver: 127.0.0.1
https_endpoints: ["myalias.my.connect.aws:8443"]
turn_servers: ["turn.example.net:3479", "turn2.example.net"]
ice_servers_file: creds.json
proxy: http://proxy.corp:3128
timeout: 3s
duration: 10s
profile: strict
thresholds: {rtt_ms: {warn: 150, fail: 300}}
`)
	f, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(f, Overrides{Duration: Given(7 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-west-2" || c.Instance != "myalias" || c.Resolver != "127.0.0.1:53" {
		t.Errorf("region/instance/resolver = %q %q %q", c.Region, c.Instance, c.Resolver)
	}
	if c.Timeout != 3*time.Second || c.Duration != 7*time.Second {
		t.Errorf("timeout %v duration %v: want the file's timeout and the flag's duration", c.Timeout, c.Duration)
	}
	if len(c.HTTPS) != 1 || c.HTTPS[0].Addr() != "myalias.my.connect.aws:8443" {
		t.Errorf("https = %+v", c.HTTPS)
	}
	if len(c.TURN) != 2 || c.TURN[0].Addr() != "turn.example.net:3479" || c.TURN[1].Addr() != "turn2.example.net:3478" {
		t.Errorf("turn = %+v", c.TURN)
	}
	if len(c.ICEServers) != 1 {
		t.Errorf("ice servers relative to the config's directory: %+v", c.ICEServers)
	}
	if c.Proxy == nil || c.Proxy.Host != "proxy.corp:3128" {
		t.Errorf("proxy = %v", c.Proxy)
	}
	if c.Thresholds.Profile != "strict" || c.Thresholds.RTTMS.Warn != 150 || c.Thresholds.JitterMS.Warn != 30 {
		t.Errorf("thresholds = %+v", c.Thresholds)
	}
	if c.Thresholds.Sources["rtt_ms"] != "configured in --config" {
		t.Errorf("overridden threshold keeps its old source: %q", c.Thresholds.Sources["rtt_ms"])
	}
}

func TestCatalogDefaults(t *testing.T) {
	c, err := Build(nil, Overrides{Region: "us-east-1", Instance: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TURN) != 5 || c.TURN[0].Host != "TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com" || !c.TURN[4].Unconfirmed {
		t.Errorf("TURN = %+v", c.TURN)
	}
	if c.HTTPS[0].Host != "acme.my.connect.aws" || c.Timeout != DefaultTimeout || c.Duration != DefaultDuration || c.Thresholds.Profile != "connect" {
		t.Errorf("defaults: %+v", c)
	}
}

// TestBadConfigs checks each malformed file or flag against its one-line
// message (blackbox_exporter's TestLoadBadConfigs habit).
func TestBadConfigs(t *testing.T) {
	cases := []struct {
		name, yaml string
		o          Overrides
		want       string
	}{
		{"unknown key", "region: us-east-1\nturn_server: [x]\n", Overrides{}, "field turn_server not found"},
		{"empty", "", Overrides{Region: "us-east-1"}, "file is empty"},
		{"bad yaml", "region: [us-east-1\n", Overrides{}, "config"},
		{"wrong type", "region: us-east-1\ntimeout: [1]\n", Overrides{}, "cannot unmarshal"},
		{"unknown region", "region: us-east-9\n", Overrides{}, "unknown region \"us-east-9\": Amazon Connect regions are af-south-1"},
		{"no region", "instance: x\n", Overrides{}, "--region is required"},
		{"bad timeout", "region: us-east-1\ntimeout: soon\n", Overrides{}, "config timeout \"soon\": want a duration"},
		{"threshold metric", "region: us-east-1\nthresholds: {latency: {warn: 1, fail: 2}}\n", Overrides{}, "unknown metric \"latency\""},
		{"bad endpoint", "region: us-east-1\nhttps_endpoints: [\"h:0\"]\n", Overrides{}, "bad port"},
		{"bad proxy", "region: us-east-1\nproxy: socks://x\n", Overrides{}, "want system, none, or http://host:port"},
		{"ca file", "region: us-east-1\nca_files: [nope.pem]\n", Overrides{}, "config ca_files"},
		{"ca not pem", "region: us-east-1\nca_files: [site.yaml]\n", Overrides{}, "holds no PEM certificate"},
		{"instance", "region: us-east-1\ninstance: 'bad alias!'\n", Overrides{}, "invalid --instance"},
		{"ice file", "region: us-east-1\nice_servers_file: missing.json\n", Overrides{}, "--ice-servers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "site.yaml", c.yaml)
			f, err := LoadFile(p)
			if err == nil {
				_, err = Build(f, c.o)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v; want it to contain %q", err, c.want)
			}
			if !IsInput(err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want a one-line input error, got %T %q", err, err)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	c := &Config{Skip: []string{"media", "nat.", "turn.allocate", "st"}}
	for id, want := range map[string]bool{"media.quality": true, "media.relay": true, "nat.mapping": true, "stun.binding": false, "capacity.streams": false,
		"turn.allocate": true, "turn.auth-challenge": false} {
		if c.Skipped(id) != want {
			t.Errorf("Skipped(%q) = %v", id, !want)
		}
	}
}

func FuzzLoadFile(f *testing.F) {
	f.Add("region: us-east-1\ninstance: x\nthresholds: {mos: {warn: 3.6, fail: 3.1}}\n")
	f.Add("turn_servers: [\"a:1\", \"b\"]\ntimeout: 5s\n")
	f.Add("signaling_url: wss://h.transport.connect.us-east-1.amazonaws.com:443/c?X-Amz-Signature=ab\nsaml: true\nsignin: new\nreplica_region: us-west-2\n")
	f.Fuzz(func(t *testing.T, body string) {
		f, err := ParseFile([]byte(body), "fuzz.yaml")
		if err != nil {
			if !IsInput(err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want a one-line input error, got %q", err)
			}
			return
		}
		if _, err := Build(f, Overrides{Region: "us-east-1"}); err != nil && (!IsInput(err) || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("Build: want a one-line input error, got %q", err)
		}
	})
}
