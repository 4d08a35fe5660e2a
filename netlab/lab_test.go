//go:build linux

package netlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/netlab"
)

// outcome is the JSON of the helper's stun, dns and tls probes.
type outcome struct {
	OK     bool     `json:"ok"`
	Kind   string   `json:"kind"`
	Error  string   `json:"error"`
	Mapped []string `json:"mapped"`
	Rcode  string   `json:"rcode"`
	Addrs  []string `json:"addrs"`
	Issuer string   `json:"issuer"`
}

// probe runs one of the helper's probes inside the agent namespace.
func probe(t *testing.T, l *netlab.Lab, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := netlab.InNS(ctx, l.Agent(), build(t, "netlab/cmd/netlab"), args...).Output()
	if err != nil {
		t.Fatalf("helper %v: %v", args, err)
	}
	var o outcome
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatalf("helper %v: %q: %v", args, out, err)
	}
	return o
}

// TestLabFaults proves the lab itself, independently of ccp-preflight's
// probes: every service answers as configured, and every fault produces
// its symptom on the wire (a timeout, an EPERM, a refusal, NXDOMAIN, an
// address outside the ranges, a foreign issuer, a size-dependent drop, an
// address-dependent NAT mapping) and goes away when switched off.
func TestLabFaults(t *testing.T) {
	needLab(t)
	t.Parallel()
	l := startLab(t, netlab.Options{Name: "nlfaults"})
	turn1, turn2 := netlab.TURN1+":3478", netlab.TURN2+":3478"
	stun := func(extra ...string) outcome {
		return probe(t, l, append([]string{"stun", "-timeout", "700ms", "-to", turn1}, extra...)...)
	}
	dnsQ := func(name string) outcome {
		return probe(t, l, "dns", "-server", netlab.DNS+":53", "-timeout", "700ms", name)
	}
	tlsQ := func() outcome {
		return probe(t, l, "tls", "-addr", netlab.Web+":443", "-sni", netlab.WebNames[0], "-ca", l.File(netlab.FileCA), "-timeout", "700ms")
	}
	healthy := func(when string) {
		t.Helper()
		if o := stun("-also", turn2); !o.OK || len(o.Mapped) != 2 || o.Mapped[0] != o.Mapped[1] ||
			!strings.HasPrefix(o.Mapped[0], netlab.AgentRouted+":") {
			t.Errorf("%s: STUN to both TURN servers: %+v (want the agent's own address twice)", when, o)
		}
		if o := dnsQ(netlab.TURNNames[0]); !o.OK || len(o.Addrs) != 1 || o.Addrs[0] != netlab.TURN1 {
			t.Errorf("%s: DNS %s: %+v", when, netlab.TURNNames[0], o)
		}
		if o := tlsQ(); !o.OK || !strings.Contains(o.Issuer, "lab CA") {
			t.Errorf("%s: TLS: %+v", when, o)
		}
	}
	healthy("before any fault")
	// TURN over TLS (turns:) presents the lab CA's certificate for the name.
	if o := probe(t, l, "tls", "-addr", fmt.Sprintf("%s:%d", netlab.TURN1, netlab.TURNTLSPort), "-sni", netlab.TURNNames[0],
		"-ca", l.File(netlab.FileCA), "-timeout", "2s"); !o.OK {
		t.Errorf("TURN over TLS on %s:%d: %+v", netlab.TURN1, netlab.TURNTLSPort, o)
	}

	ctx := context.Background()
	cases := []struct {
		fault string
		check func(t *testing.T)
	}{
		{"udp-drop", func(t *testing.T) {
			if o := stun(); o.OK || o.Kind != "timeout" {
				t.Errorf("STUN: %+v, want a timeout", o)
			}
		}},
		{"udp-reject", func(t *testing.T) {
			if o := stun(); o.OK || o.Kind != "permission" {
				t.Errorf("STUN: %+v, want operation not permitted", o)
			}
		}},
		{"tcp443-drop", func(t *testing.T) {
			if o := tlsQ(); o.OK || o.Kind != "timeout" {
				t.Errorf("TLS: %+v, want a connect timeout", o)
			}
		}},
		{"large-drop", func(t *testing.T) {
			if o := stun("-size", "1200"); o.OK || o.Kind != "timeout" {
				t.Errorf("1200-byte STUN: %+v, want a timeout", o)
			}
			if o := stun("-size", "200"); !o.OK {
				t.Errorf("200-byte STUN: %+v, want an answer", o)
			}
		}},
		{"dns-down", func(t *testing.T) {
			if o := dnsQ(netlab.TURNNames[0]); o.OK || o.Kind != "refused" {
				t.Errorf("DNS: %+v, want refused (port unreachable)", o)
			}
		}},
		{"nxdomain", func(t *testing.T) {
			if o := dnsQ(netlab.TURNNames[1]); o.Rcode != "NXDOMAIN" {
				t.Errorf("DNS %s: %+v, want NXDOMAIN", netlab.TURNNames[1], o)
			}
			if o := dnsQ(netlab.WebNames[0]); !o.OK {
				t.Errorf("DNS %s: %+v, want an answer", netlab.WebNames[0], o)
			}
		}},
		{"hijack", func(t *testing.T) {
			if o := dnsQ(netlab.WebNames[0]); len(o.Addrs) != 1 || o.Addrs[0] != netlab.Hijacked {
				t.Errorf("DNS %s: %+v, want %s", netlab.WebNames[0], o, netlab.Hijacked)
			}
		}},
		{"intercept", func(t *testing.T) {
			if o := tlsQ(); o.OK || !strings.Contains(o.Issuer, "Inspection") {
				t.Errorf("TLS: %+v, want a failed verification with the inspection CA as issuer", o)
			}
		}},
		{"signaling-drop", func(t *testing.T) {
			if o := probe(t, l, "tls", "-addr", netlab.Signal+":443", "-sni", netlab.SignalName, "-ca", l.File(netlab.FileCA), "-timeout", "700ms"); o.OK || o.Kind != "timeout" {
				t.Errorf("TLS to the signaling host: %+v, want a connect timeout", o)
			}
			if o := tlsQ(); !o.OK {
				t.Errorf("TLS to the web (and CCP v1) host: %+v, want it open", o)
			}
		}},
		{"turn-down", func(t *testing.T) {
			if o := stun(); o.OK || o.Kind != "refused" {
				t.Errorf("STUN to the stopped server: %+v, want refused", o)
			}
			if o := probe(t, l, "stun", "-timeout", "700ms", "-to", turn2); !o.OK {
				t.Errorf("STUN to the other server: %+v", o)
			}
		}},
		{"nat-symmetric", func(t *testing.T) {
			o := stun("-also", turn2)
			if !o.OK || len(o.Mapped) != 2 {
				t.Fatalf("STUN through the NAT: %+v", o)
			}
			if !strings.HasPrefix(o.Mapped[0], netlab.WanCloudSide+":") || o.Mapped[0] == o.Mapped[1] {
				t.Errorf("mapped %v: want the wan's address with a different port per server", o.Mapped)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			if err := l.On(ctx, tc.fault, ""); err != nil {
				t.Fatal(err)
			}
			tc.check(t)
			if err := l.Off(ctx, tc.fault); err != nil {
				t.Fatal(err)
			}
			healthy("after " + tc.fault + " off")
		})
	}
}

// TestLabCleanup proves Close leaves nothing behind: namespaces and
// processes are gone.
func TestLabCleanup(t *testing.T) {
	needLab(t)
	t.Parallel()
	l := startLab(t, netlab.Options{Name: "nlclean", NoTURN2: true})
	pids := map[string]int{}
	for k, v := range l.PIDs {
		pids[k] = v
	}
	l.Close()
	out, _ := execOut("ip", "netns", "list")
	for _, ns := range []string{l.Agent(), l.Wan(), l.Cloud()} {
		if strings.Contains(out, ns) {
			t.Errorf("namespace %s still exists after Close", ns)
		}
	}
	for role, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (PID %d) still runs after Close", role, pid)
		}
	}
}
