//go:build linux

package netlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/netlab"
	"github.com/ccp-preflight/ccp-preflight/netlab/bridge"
)

// pingStats is `netlab ping`'s JSON.
type pingStats struct {
	Sent, Received int
	LossRatio      float64 `json:"loss_ratio"`
	RTTMeanMS      float64 `json:"rtt_mean_ms"`
	RTTMinMS       float64 `json:"rtt_min_ms"`
	RTTMaxMS       float64 `json:"rtt_max_ms"`
	RTTStdMS       float64 `json:"rtt_std_ms"`
	JitterMS       float64 `json:"jitter_ms"`
	MeanAbsDiffMS  float64 `json:"mean_abs_diff_ms"`
	Reordered      int     `json:"reordered"`
}

// ping runs paced UDP round trips from the agent to an echo server in the
// cloud of a bridged lab (traffic only inside the lab's namespaces).
func ping(t *testing.T, l *netlab.Lab, count int, interval time.Duration, size int) pingStats {
	t.Helper()
	helper := build(t, "netlab/cmd/netlab")
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(count)*interval+30*time.Second)
	defer cancel()
	addr := netlab.TURN1 + ":9000"
	name, args := netlab.AheadOfLoad(helper, "echo", "-listen", addr)
	echo := netlab.InNS(ctx, l.Cloud(), name, args...)
	if err := echo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { echo.Process.Kill(); echo.Wait() }()
	time.Sleep(200 * time.Millisecond) // the echo socket binds at once; margin for exec
	// Wait for the last replies: 1 s, or the time a rate limit needs to
	// drain what was offered.
	wait := time.Second + time.Duration(count)*time.Duration(size+42)*8*time.Second/1_000_000
	name, args = netlab.AheadOfLoad(helper, "ping", "-to", addr, "-count", fmt.Sprint(count),
		"-interval", interval.String(), "-size", fmt.Sprint(size), "-wait", wait.String())
	out, err := netlab.InNS(ctx, l.Agent(), name, args...).Output()
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	var st pingStats
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("ping output %q: %v", out, err)
	}
	return st
}

// TestBridgeAccuracy injects known impairments with the bridge and
// measures them with paced UDP round trips (50 packets/s, 160-byte
// datagrams as Opus at 20 ms): what the lab injects is what a probe sees.
// Tolerances are the media issue's: RTT within 1 ms + 2%, jitter within
// 2 ms, loss within 0.5 percentage points over at least 1500 packets.
//
// Not parallel: it runs on its own before the parallel scenarios (see
// TestScenarioImpairedQuality).
func TestBridgeAccuracy(t *testing.T) {
	needLab(t)
	cases := []struct {
		name, ab, ba string
		count        int
		interval     time.Duration
		size         int
		// Injected truth: RTT, the mean |ΔRTT| of consecutive packets
		// (what RFC 3550's jitter estimates; 2J/3 for a uniform ±J one
		// way), and the loss ratio.
		rttMS, absDiffMS, loss float64
		lossTol                float64
		check                  func(t *testing.T, st pingStats)
	}{
		{name: "delay80-jitter10-loss2-deterministic", ab: "delay=80ms,jitter=10ms,every=50",
			count: 1500, interval: 20 * time.Millisecond, size: 160,
			rttMS: 80, absDiffMS: 20.0 / 3, loss: 0.02, lossTol: 0.005,
			check: func(t *testing.T, st pingStats) {
				// Uniform ±10 ms has a standard deviation of 10/√3 ms.
				if d := math.Abs(st.RTTStdMS - 10/math.Sqrt(3)); d > 1 {
					t.Errorf("RTT stddev %.2f ms, want %.2f ± 1", st.RTTStdMS, 10/math.Sqrt(3))
				}
			}},
		{name: "split-delay-30-20", ab: "delay=30ms", ba: "delay=20ms",
			count: 250, interval: 20 * time.Millisecond, size: 160, rttMS: 50, absDiffMS: 0, loss: 0, lossTol: 0.005},
		{name: "random-loss-2pct", ab: "loss=0.02", count: 3000, interval: 2 * time.Millisecond, size: 160,
			rttMS: 0, absDiffMS: -1, loss: 0.02,
			// Random loss: 3σ of a binomial over 3000 packets is 0.77 pp.
			lossTol: 0.008},
		{name: "reorder-10pct", ab: "reorder=0.1,gap=45ms", count: 500, interval: 20 * time.Millisecond, size: 160,
			rttMS: -1, absDiffMS: -1, loss: 0, lossTol: 0.005,
			check: func(t *testing.T, st pingStats) {
				// About 10% of packets are held past the next two (3σ ≈ 4 pp).
				if r := float64(st.Reordered) / float64(st.Received); r < 0.06 || r > 0.14 {
					t.Errorf("reordered %d of %d (%.1f%%), want 10%% ± 4", st.Reordered, st.Received, 100*r)
				}
			}},
		{name: "rate-1mbit", ab: "rate=1m", count: 200, interval: time.Millisecond, size: 1000,
			rttMS: -1, absDiffMS: -1, loss: 0, lossTol: 0.005,
			check: func(t *testing.T, st pingStats) {
				// 200 frames of 1042 bytes offered in 0.2 s drain at 1 Mbit/s
				// in 1.667 s: the last waits about 1.47 s.
				wantMax := 200*1042*8/1e6*1000 - 200
				if math.Abs(st.RTTMaxMS-wantMax) > 0.1*wantMax {
					t.Errorf("max RTT %.0f ms, want %.0f ± 10%% (queueing behind a 1 Mbit/s limit)", st.RTTMaxMS, wantMax)
				}
			}},
	}
	t.Cleanup(func() {
		accuracyMu.Lock()
		defer accuracyMu.Unlock()
		t.Logf("accuracy through the bridge (injected→measured):\n| case | impairment ab / ba | RTT ms | jitter ms | loss | packets |\n|---|---|---|---|---|---|\n%s",
			strings.Join(accuracyRows, "\n"))
	})
	// Creating and deleting namespaces can stall the kernel's packet path:
	// every lab is up before any case measures, and all are torn down after
	// the last case ends.
	labs := make([]*netlab.Lab, len(cases))
	for i, tc := range cases {
		labs[i] = startLab(t, netlab.Options{Name: fmt.Sprintf("nlacc%d", i), Bridged: true, NoServices: true, AB: tc.ab, BA: tc.ba})
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := labs[i]
			st := ping(t, l, tc.count, tc.interval, tc.size)
			t.Logf("injected ab %q ba %q: measured %+v", tc.ab, tc.ba, st)
			if tc.rttMS >= 0 {
				tol := 1 + 0.02*tc.rttMS
				if d := st.RTTMeanMS - tc.rttMS; math.Abs(d) > tol {
					t.Errorf("RTT mean %.2f ms, injected %.0f ms: off by %.2f (tolerance %.2f)", st.RTTMeanMS, tc.rttMS, d, tol)
				}
			}
			if tc.absDiffMS >= 0 {
				if d := st.MeanAbsDiffMS - tc.absDiffMS; math.Abs(d) > 2 {
					t.Errorf("jitter (mean |ΔRTT|) %.2f ms, injected %.2f ms: off by %.2f (tolerance 2)", st.MeanAbsDiffMS, tc.absDiffMS, d)
				}
			}
			if d := st.LossRatio - tc.loss; math.Abs(d) > tc.lossTol {
				t.Errorf("loss %.2f%%, injected %.2f%%: off by %.2f pp (tolerance %.2f)", 100*st.LossRatio, 100*tc.loss, 100*d, 100*tc.lossTol)
			}
			if tc.check != nil {
				tc.check(t, st)
			}
			accuracyRow(tc.name, tc.ab, tc.ba, tc.rttMS, tc.absDiffMS, tc.loss, st)
		})
	}
}

var (
	accuracyMu   sync.Mutex
	accuracyRows []string
)

func accuracyRow(name, ab, ba string, rtt, absd, loss float64, st pingStats) {
	accuracyMu.Lock()
	defer accuracyMu.Unlock()
	accuracyRows = append(accuracyRows, fmt.Sprintf("| %s | %s / %s | %.1f→%.2f | %.2f→%.2f (RFC 3550 J %.2f) | %.2f%%→%.2f%% | %d |",
		name, ab, orNone(ba), rtt, st.RTTMeanMS, absd, st.MeanAbsDiffMS, st.JitterMS, 100*loss, 100*st.LossRatio, st.Sent))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func TestParseImpairment(t *testing.T) {
	im, err := bridge.Parse("delay=80ms,jitter=10ms,every=50,reorder=0.01,rate=2m")
	if err != nil {
		t.Fatal(err)
	}
	if im.Delay != 80*time.Millisecond || im.Jitter != 10*time.Millisecond || im.LossEvery != 50 ||
		im.Reorder != 0.01 || im.ReorderGap != bridge.DefaultReorderGap || im.RateBPS != 2_000_000 {
		t.Errorf("parsed %+v", im)
	}
	if back, err := bridge.Parse(im.String()); err != nil || back != im {
		t.Errorf("round trip %q: %+v, %v", im.String(), back, err)
	}
	for _, bad := range []string{"delay=-1ms", "loss=2", "every=1", "color=red", "delay", "rate=fast", "jitter=2h"} {
		if _, err := bridge.Parse(bad); err == nil || !strings.Contains(err.Error(), "impairment") {
			t.Errorf("Parse(%q): error %v, want one naming the impairment", bad, err)
		}
	}
}
