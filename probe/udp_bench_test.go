package probe

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkVerdictAllTURNBlackholed measures the time to a verdict of the
// UDP/TURN checks when every TURN server (5, as us-east-1 lists) drops UDP
// silently, credentials given: the target is ≤ 3.5 s (docs/UDP-CHECKS.md;
// netcheck 5 s, pion's retries ~8 s, the CCP's ICE timeout 8 s).
func BenchmarkVerdictAllTURNBlackholed(b *testing.B) {
	var ports []int
	var urls []string
	for range 5 {
		p := udpTestBlackhole(b)
		ports = append(ports, p)
		urls = append(urls, fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", p))
	}
	cfg := udpTestICE(udpTestUser, udpTestPass, urls...)
	cfg.TURN = udpTestConfig(ports...).TURN
	probes := udpProbes()
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), Deadline(cfg, probes))
		rs := Run(ctx, NewEnv(cfg), probes, nil)
		cancel()
		worst = max(worst, time.Since(start))
		if v := Verdict(rs); v != Fail {
			b.Fatalf("verdict %s, want fail", v)
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// BenchmarkVerdictLocalFirewall measures stun.binding's verdict when a
// local firewall makes the send fail at once (EPERM, an nftables output
// drop in a namespace; needs root and nft): it must come at once, not
// after the timeout.
func BenchmarkVerdictLocalFirewall(b *testing.B) {
	cfg := udpTestConfig(3478)
	env := NewEnv(cfg)
	tg := Target{Name: cfg.TURN[0].Addr(), Endpoint: cfg.TURN[0]}
	var worst time.Duration
	var status Status
	udpTestInNetns(b, 3478, func() {
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), udpBudget(cfg))
			r := stunBinding.Run(ctx, env, tg)
			cancel()
			worst = max(worst, time.Since(start))
			status = r.Status
		}
	})
	if status != Fail {
		b.Fatalf("status %s, want fail", status)
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}

// BenchmarkVerdictAllTURNBlackholedNoCredentials is the same without
// credentials (turn.allocate skips): the UDP budget alone.
func BenchmarkVerdictAllTURNBlackholedNoCredentials(b *testing.B) {
	var ports []int
	for range 5 {
		ports = append(ports, udpTestBlackhole(b))
	}
	cfg := udpTestConfig(ports...)
	probes := udpProbes()
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), Deadline(cfg, probes))
		rs := Run(ctx, NewEnv(cfg), probes, nil)
		cancel()
		worst = max(worst, time.Since(start))
		if v := Verdict(rs); v != Fail {
			b.Fatalf("verdict %s, want fail", v)
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
