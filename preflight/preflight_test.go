package preflight

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/report"
)

// offline leaves out every check that sends traffic: only local checks run.
const offline = "ranges.membership,dns,tcp,tls,env,stun,turn,path,nat,media,capacity"

func noEnv(t *testing.T) {
	t.Setenv(config.EnvICEServers, "")
	t.Setenv(config.EnvICEServersFile, "")
}

func TestBuildBadInput(t *testing.T) {
	noEnv(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("region: [us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		name string
		o    Options
		want string
	}{
		{"fail-on", Options{Region: "us-east-1", FailOn: "skip"}, `--fail-on "skip": want fail or warn`},
		{"empty fail-on", Options{Region: "us-east-1"}, `--fail-on "": want fail or warn`},
		{"config", Options{ConfigFile: bad, FailOn: "fail"}, "bad.yaml"},
		{"zero duration", Options{Region: "us-east-1", FailOn: "fail", Duration: config.Given(time.Duration(0))}, "--duration 0s: must be positive"},
		{"negative timeout", Options{Region: "us-east-1", FailOn: "fail", Timeout: config.Given(-3 * time.Second)}, "--timeout -3s: must be positive"},
		{"long timeout", Options{Region: "us-east-1", FailOn: "fail", Timeout: config.Given(10 * time.Minute)}, "--timeout 10m0s: must be between"},
		{"zero capacity", Options{Region: "us-east-1", FailOn: "fail", Capacity: config.Given(0)}, "--capacity 0: must be between 1 and 200 streams"},
		{"ranges", Options{Region: "us-east-1", FailOn: "fail", Ranges: filepath.Join(dir, "none.json")}, "ranges: "},
	} {
		t.Run(k.name, func(t *testing.T) {
			_, err := Build(k.o)
			if err == nil || !config.IsInput(err) || !strings.Contains(err.Error(), k.want) {
				t.Errorf("Build: %v; want an input error containing %q", err, k.want)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	noEnv(t)
	cfg, err := Build(Options{Region: "eu-west-2", FailOn: "warn", Skip: " media, ,nat ", Duration: config.Given(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-2" || cfg.Lab || cfg.Ranges == nil || cfg.Duration != 2*time.Second || !reflect.DeepEqual(cfg.Skip, []string{"media", "nat"}) {
		t.Errorf("region %q lab %v ranges %v duration %v skip %q", cfg.Region, cfg.Lab, cfg.Ranges, cfg.Duration, cfg.Skip)
	}
}

// TestBuildLab: with a lab, Build needs no region, checks the lab's
// servers, loads no ranges file, and the lab DNS answers the Config's
// names; the Config is complete when Build returns.
func TestBuildLab(t *testing.T) {
	noEnv(t)
	l, err := lab.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg, err := Build(Options{FailOn: "fail", Lab: l, Ranges: "/nonexistent.json"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != LabRegion || cfg.Instance != LabInstance || !cfg.Lab {
		t.Errorf("region %q instance %q lab %v", cfg.Region, cfg.Instance, cfg.Lab)
	}
	if cfg.Resolver != l.DNS.Addr || cfg.Ranges == nil || cfg.Ranges.Source != "lab" || len(cfg.ICEServers) != 1 || cfg.Proxy != nil {
		t.Errorf("resolver %q ranges %v ice %d proxy %v", cfg.Resolver, cfg.Ranges, len(cfg.ICEServers), cfg.Proxy)
	}
	for _, e := range cfg.HTTPS {
		if e.Port != l.HTTPS.Port {
			t.Errorf("HTTPS %s: want the lab's port %d", e.Addr(), l.HTTPS.Port)
		}
	}
	// The file's region wins over the lab default.
	site := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(site, []byte("region: eu-west-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := Build(Options{FailOn: "fail", Lab: l, ConfigFile: site}); err != nil || cfg.Region != "eu-west-2" || cfg.Instance != LabInstance {
		t.Errorf("file region under --lab: %v %v", cfg, err)
	}
}

// TestRunRedactsICECredentials: even a result that quotes a credential
// shows none in any format.
func TestRunRedactsICECredentials(t *testing.T) {
	t.Setenv(config.EnvICEServersFile, "")
	t.Setenv(config.EnvICEServers, `[{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"1732480000:agent-x","credential":"dG9wLXNlY3JldC1jcmVk"}]`)
	cfg, err := Build(Options{Region: "us-east-1", FailOn: "fail", Skip: offline})
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), cfg, "test", nil)
	if rep.Version != "test" || rep.Region != "us-east-1" || rep.Schema != report.Schema || len(rep.Checks) == 0 || rep.Interrupted {
		t.Fatalf("report %+v", rep)
	}
	rep.Checks = append(rep.Checks, rep.Checks[0])
	rep.Checks[len(rep.Checks)-1].Reason = "TURN said 401 to 1732480000:agent-x / dG9wLXNlY3JldC1jcmVk"
	rep.Redact(cfg.Secrets()...)
	for _, format := range report.Formats {
		var b bytes.Buffer
		if err := report.Render(&b, format, rep, report.Options{}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "dG9wLXNlY3JldC1jcmVk") || strings.Contains(b.String(), "agent-x") {
			t.Errorf("%s shows an ICE credential", format)
		}
	}
}

// TestRunInterrupted: a cancelled context gives a report marked
// Interrupted, not nil — also when it was cancelled with a cause, as Go
// 1.26's signal.NotifyContext does on Ctrl-C (the cause is the signal;
// before the fix `context.Cause(ctx) == context.Canceled` missed it and
// the run read READY).
func TestRunInterrupted(t *testing.T) {
	noEnv(t)
	cfg, err := Build(Options{Region: "us-east-1", FailOn: "fail", Skip: offline})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep := Run(ctx, cfg, "test", nil); rep == nil || !rep.Interrupted {
		t.Errorf("cancelled run: %+v", rep)
	}
	sig, stop := context.WithCancelCause(context.Background())
	stop(errors.New("interrupt signal received"))
	if rep := Run(sig, cfg, "test", nil); rep == nil || !rep.Interrupted || report.OutcomeOf(rep) != report.OutcomeIncomplete {
		t.Errorf("run cancelled with a signal as the cause: %+v", rep)
	}
}
