//go:build linux

package netlab_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/netlab"
	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// The browser scenarios: on one impaired lab path, headless Chromium makes
// a relay-only call as the CCP does (netlab.BrowserCall: coturn in the
// cloud, a pion/webrtc peer beside it standing in for Connect's media
// server, getStats() posted back), then ccp-preflight checks the same
// path. The call is graded by the tool's own thresholds (profile connect:
// a call that does not connect fails; RTT, each direction's RFC 3550
// jitter and loss as the browser and the peer report them), and the
// report's verdict must agree.

// callScenario is one path and one browser DTLS role.
type callScenario struct {
	name string
	// ab/ba impair the bridged lab (agent→cloud, cloud→agent); nft is a
	// rule set for the routed lab's wan (forward hook).
	ab, ba, nft string
	// role is the browser's DTLS role in the call (the peer's answer
	// chooses it); toolRole is the tool's dtls_role ("" = not known).
	role, toolRole string
	// want is the verdict both must reach; toolOnly, when set, is the
	// tool's documented verdict where it cannot know (downstream sizes of
	// Connect's media server are not published).
	want, toolOnly string
}

// sizeDrop is an nftables table for the wan dropping UDP 3478 datagrams
// longer than 1000 bytes (IP length) in one direction.
func sizeDrop(match string) string {
	return fmt.Sprintf(`table ip ccplab_size {
  chain fwd {
    type filter hook forward priority 0; policy accept;
    %s meta length > 1000 drop
  }
}
`, match)
}

var callScenarios = []callScenario{
	{name: "clean", role: "server", want: "pass"},
	{name: "rtt300", ab: "delay=150ms", ba: "delay=150ms", role: "server", want: "warn"},
	{name: "asym250", ab: "delay=250ms", role: "client", toolRole: "client", want: "warn"},
	{name: "jitter25", ab: "delay=60ms,jitter=25ms", ba: "delay=60ms,jitter=25ms", role: "server", want: "pass"},
	{name: "loss2", ab: "delay=20ms,every=50", ba: "delay=20ms", role: "server", want: "warn"},
	{name: "loss5", ab: "delay=20ms,every=20", ba: "delay=20ms", role: "server", want: "fail"},
	{name: "updrop-server", nft: sizeDrop("udp dport 3478"), role: "server", toolRole: "server", want: "pass"},
	{name: "updrop-client", nft: sizeDrop("udp dport 3478"), role: "client", toolRole: "client", want: "fail"},
	{name: "updrop-unknown", nft: sizeDrop("udp dport 3478"), role: "server", want: "pass", toolOnly: "warn"},
	{name: "downdrop-server", nft: sizeDrop("udp sport 3478"), role: "server", toolRole: "server", want: "pass", toolOnly: "warn"},
	{name: "downdrop-client", nft: sizeDrop("udp sport 3478"), role: "client", toolRole: "client", want: "pass", toolOnly: "warn"},
}

// callVerdict grades a browser call by the tool's thresholds.
func callVerdict(th quality.Thresholds, c netlab.CallResult) (result.Status, string) {
	if !c.Connected {
		return result.Fail, "the call did not connect (" + c.State + c.Error + ")"
	}
	vs := []quality.Verdict{
		th.Judge("rtt_ms", c.RTTMS, "round trip"),
		th.Judge("jitter_ms", math.Max(c.DownJitterMS, c.Peer.JitterMS), "jitter"),
		th.Judge("loss_ratio", math.Max(c.UpLossRatio(), c.DownLossRatio()), "packet loss"),
	}
	return quality.Worst(vs)
}

func needChromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("browser scenarios skipped: no chromium (make test installs Debian's chromium)")
	}
	return p
}

func TestBrowserCallScenarios(t *testing.T) {
	needLab(t)
	chromium := needChromium(t)
	peer := build(t, "netlab/cmd/callpeer")
	th, _ := quality.Profile("connect")
	var summary []string
	for i, sc := range callScenarios {
		t.Run(sc.name, func(t *testing.T) {
			o := netlab.Options{Name: fmt.Sprintf("nlb%d-", i)}
			if sc.ab != "" || sc.ba != "" {
				o.Bridged, o.AB, o.BA = true, sc.ab, sc.ba
			}
			l := startLab(t, o)
			ctx := context.Background()
			if sc.nft != "" {
				if err := netlab.Nft(ctx, l.Wan(), sc.nft); err != nil {
					t.Fatal(err)
				}
			}
			call, err := l.BrowserCall(ctx, netlab.CallOptions{CallPeer: peer, Chromium: chromium, BrowserRole: sc.role})
			if err != nil {
				t.Fatal(err)
			}
			callLvl, callWhy := callVerdict(th, call)
			t.Logf("browser: %s %s; connected %v at %.0f ms (gathered %.0f ms), DTLS role %s, RTT %.1f ms, jitter down %.1f / up %.1f ms, loss down %.2f%% / up %.2f%%; events %v",
				callLvl, callWhy, call.Connected, call.ConnectedMS, call.GatheredMS, call.DTLSRole, call.RTTMS, call.DownJitterMS, call.Peer.JitterMS, 100*call.DownLossRatio(), 100*call.UpLossRatio(), call.Events)
			if call.Connected && call.DTLSRole != "" && call.DTLSRole != sc.role {
				t.Errorf("the browser was DTLS %s, the scenario asked for %s", call.DTLSRole, sc.role)
			}
			if string(callLvl) != sc.want {
				t.Errorf("the browser call graded %s (%s), the scenario expects %s: the lab is not the path it claims", callLvl, callWhy, sc.want)
			}

			args := []string{"--duration", "10s"}
			if sc.toolRole != "" {
				cfg := filepath.Join(l.Dir, "lab-role.yaml")
				b, err := os.ReadFile(l.File(netlab.FileConfig))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(cfg, append(b, []byte("\ndtls_role: "+sc.toolRole+"\n")...), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", cfg)
			}
			r, code := runCheck(t, l, args...)
			mq, mr, ld := first(r.find("media.quality", "turn1")), first(r.find("media.relay", "")), first(r.find("path.large-datagram", "turn1"))
			line := fmt.Sprintf("%-16s browser %-4s (connected %v, %s, RTT %.0f ms, jitter ↓%.1f ↑%.1f ms, loss ↓%.1f%% ↑%.1f%%) | tool %-4s exit %d: media.quality %s RTT %.0f ms jitter %.1f (rtt %.1f) ms loss %.1f%%; media.relay %s %s; path.large-datagram %s up %.0f down %.0f B",
				sc.name, callLvl, call.Connected, call.DTLSRole, call.RTTMS, call.DownJitterMS, call.Peer.JitterMS, 100*call.DownLossRatio(), 100*call.UpLossRatio(),
				r.Verdict, code, mq.Status, mq.Metrics["rtt_ms"], mq.Metrics["jitter_ms"], mq.Metrics["jitter_rtt_ms"], 100*mq.Metrics["loss_ratio"],
				mr.Status, mr.Phase, ld.Status, ld.Metrics["up_max_bytes"], ld.Metrics["down_max_bytes"])
			t.Log("SCENARIO " + line)
			summary = append(summary, line)
			want := sc.want
			if sc.toolOnly != "" {
				want = sc.toolOnly
			}
			if r.Verdict != want {
				t.Errorf("ccp-preflight says %s, the browser call %s (%s): they disagree", r.Verdict, callLvl, callWhy)
			}
			// READY / NOT READY must agree in every scenario.
			if (r.Verdict == "fail") != (callLvl == result.Fail) {
				t.Errorf("NOT READY disagrees: tool %s, call %s", r.Verdict, callLvl)
			}
			// On the symmetric jitter path the graded one-way estimate is
			// within 2 ms (or 15 %) of the browser's and the peer's RFC 3550 jitter.
			if sc.name == "jitter25" {
				for _, j := range []float64{call.DownJitterMS, call.Peer.JitterMS} {
					if d := math.Abs(mq.Metrics["jitter_ms"] - j); d > math.Max(2, 0.15*j) {
						t.Errorf("one-way jitter estimate %.2f ms, the call's %.2f ms", mq.Metrics["jitter_ms"], j)
					}
				}
			}
		})
	}
	for _, s := range summary {
		t.Log(s)
	}
}

func first(cs []Check) Check {
	if len(cs) == 0 {
		return Check{}
	}
	return cs[0]
}
