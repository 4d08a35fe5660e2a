package probe

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/lab"
)

// answerSession hands the browser checks a fixed answer (or error): the
// runner's plumbing, with a real TURN server for stun.binding; the page
// itself is tested with Chromium in browsercheck.
type answerSession struct {
	a   *browsercheck.Answer
	err error
}

func (s answerSession) Wait(context.Context) (*browsercheck.Answer, error) { return s.a, s.err }

// TestBrowserChecksOptIn: without --browser the browser checks are left
// out of the run and the report; with it and no answer they are skips
// with the session's reason.
func TestBrowserChecksOptIn(t *testing.T) {
	ts, err := lab.StartTURN(lab.TURNOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	cfg := testConfig(time.Second, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ts.Port})
	probes := []Probe{stunBinding, browserSupport, browserUDP}
	for _, r := range Run(context.Background(), NewEnv(cfg), probes, nil) {
		if strings.HasPrefix(r.ID, "browser.") {
			t.Errorf("not asked, yet in the report: %+v", r)
		}
	}
	if d := Deadline(cfg, probes); d > 10*time.Second {
		t.Errorf("deadline %v counts the browser's budget without --browser", d)
	}
	cfg.Browser = config.Browser{Enabled: true, Timeout: 5 * time.Second}
	env := NewEnv(cfg)
	env.Browser = answerSession{err: errors.New("no answer from the browser: it did not load the check page")}
	n := 0
	for _, r := range Run(context.Background(), env, probes, nil) {
		if strings.HasPrefix(r.ID, "browser.") {
			n++
			if r.Status != Skip || !strings.Contains(r.Reason, "did not load the check page") {
				t.Errorf("no answer: %+v", r)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d browser results, want 2 (support, udp for one server)", n)
	}
}

// TestBrowserUDPAwaitsSTUN: browser.udp waits for stun.binding to the same
// server (a real pion TURN server that answers) and, the network being
// fine, blames the browser.
func TestBrowserUDPAwaitsSTUN(t *testing.T) {
	ts, err := lab.StartTURN(lab.TURNOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	cfg := testConfig(time.Second, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ts.Port})
	cfg.Browser = config.Browser{Enabled: true, Timeout: 5 * time.Second}
	env := NewEnv(cfg)
	env.Browser = answerSession{a: &browsercheck.Answer{Version: 1, UDP: &browsercheck.UDP{Servers: []browsercheck.Server{{Complete: true}}}}}
	rs := Run(context.Background(), env, []Probe{browserUDP, stunBinding}, nil)
	var stun, udp Result
	for _, r := range rs {
		switch r.ID {
		case "stun.binding":
			stun = r
		case "browser.udp":
			udp = r
		}
	}
	if stun.Status != Pass {
		t.Fatalf("stun.binding to the lab TURN server: %+v", stun)
	}
	if udp.Status != Fail || !strings.Contains(udp.Reason, "the cause is the browser") {
		t.Errorf("browser.udp beside a passing stun.binding: %+v", udp)
	}
}

// TestBrowserPage: the page gets the TURN servers as STUN URLs in target
// order (addresses when the run asks its own DNS server, which a browser
// cannot) and the credentials only in its ICE servers.
func TestBrowserPage(t *testing.T) {
	dns, err := lab.StartDNS(lab.DNSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	cfg := testConfig(2 * time.Second)
	cfg.TURN = append(cfg.TURN, turnTargets(testConfig(0, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3478}))[0].Endpoint)
	cfg.TURN[0].Host = "turn.example"
	cfg.Resolver = dns.Addr
	cfg.ICEServers = []config.ICEServer{{URLs: []string{"turn:turn.example:3478?transport=udp"}, Username: "u", Credential: "pw"}}
	p := browserPage(context.Background(), NewEnv(cfg))
	if len(p.STUN) != 1 || p.STUN[0] != "stun:127.0.0.1:3478" {
		t.Errorf("STUN %v, want the address the run's DNS server gave", p.STUN)
	}
	if len(p.ICEServers) != 1 || p.ICEServers[0].Credential != "pw" || p.Duration != 2*time.Second ||
		p.ICEServers[0].URLs[0] != "turn:127.0.0.1:3478?transport=udp" {
		t.Errorf("page %+v", p)
	}
	cfg.Resolver = ""
	if p := browserPage(context.Background(), NewEnv(cfg)); p.STUN[0] != "stun:turn.example:3478" || p.ICEServers[0].URLs[0] != cfg.ICEServers[0].URLs[0] {
		t.Errorf("STUN %v, want the name: the browser resolves it itself", p.STUN)
	}
}
