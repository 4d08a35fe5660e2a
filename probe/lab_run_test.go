package probe

import (
	"context"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
)

// connProbes are the probes of the connectivity work.
func connProbes() []Probe {
	return []Probe{dnsResolve, rangesMembership, tcpConnect, tlsHandshake, envProxy}
}

// TestRunAgainstLab runs the connectivity probes through the runner against
// the lab, as `check --lab` does: everything passes, DNS is asked once per
// name and query type, and no goroutine outlives the run.
func TestRunAgainstLab(t *testing.T) {
	checkLeaks := goroutineLeakCheck(t)
	l, err := lab.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Build(nil, config.Overrides{Region: "us-east-1", Instance: "myalias", Lab: true, Targets: l.Targets()})
	if err != nil {
		t.Fatal(err)
	}
	l.Answer(cfg)
	probes := connProbes()
	ctx, cancel := context.WithTimeout(context.Background(), Deadline(cfg, probes))
	results := Run(ctx, NewEnv(cfg), probes, nil)
	cancel()
	names := len(cfg.HTTPS) + len(cfg.TURN)
	if got, want := len(results), 2*names+3*len(cfg.HTTPS); got != want {
		t.Errorf("%d results, want %d", got, want)
	}
	for _, r := range results {
		if r.Status != Pass {
			t.Errorf("%s %s: %s %s: %s", r.ID, r.Target, r.Status, r.Phase, r.Reason)
		}
	}
	if q := l.DNS.Queries(); q != 2*names {
		t.Errorf("lab DNS saw %d queries for %d names, want one A and one AAAA each", q, names)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
	checkLeaks()
}

// TestRunCancelledReportsPartial interrupts a run whose DNS never answers:
// every probe returns promptly, marked as cancelled, not failed.
func TestRunCancelledReportsPartial(t *testing.T) {
	noEnvProxy(t)
	s := startDNS(t, lab.DNSOptions{Mode: lab.DNSSilent})
	cfg, err := config.Build(nil, config.Overrides{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resolver = s.Addr
	cfg.Ranges = lab.Ranges()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	results := Run(ctx, NewEnv(cfg), connProbes(), nil)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("cancelled run took %v", d)
	}
	for _, r := range results {
		if r.ID != "env.proxy" && (r.Status != Skip || r.Reason == "") {
			t.Errorf("%s %s: %s %q, want skip as interrupted", r.ID, r.Target, r.Status, r.Reason)
		}
	}
}
