//go:build linux

package netlab

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"syscall"

	"github.com/ccp-preflight/ccp-preflight/internal/safefile"
)

// Fault is a network fault the lab switches on and off by name.
type Fault struct {
	Name string
	// Desc says what it does, as a user sees the symptom.
	Desc string
	// Routed is true when the fault needs the routed wan (NAT).
	Routed bool
	on     func(ctx context.Context, l *Lab, arg string) error
	off    func(ctx context.Context, l *Lab) error
}

// nftTable is the name of the nftables table holding fault name's rules.
func nftTable(name string) string { return "ccplab_" + strings.ReplaceAll(name, "-", "_") }

// nftFault is a fault made of one nftables table in one namespace.
func nftFault(name, desc, role, family, body string, routed bool) Fault {
	table := nftTable(name)
	return Fault{Name: name, Desc: desc, Routed: routed,
		on: func(ctx context.Context, l *Lab, _ string) error {
			return Nft(ctx, l.NS[role], fmt.Sprintf("table %s %s {\n%s\n}\n", family, table, body))
		},
		off: func(ctx context.Context, l *Lab) error {
			return Nft(ctx, l.NS[role], fmt.Sprintf("delete table %s %s\n", family, table))
		},
	}
}

// egress is a netdev egress chain on the agent's veth: a drop there is
// silent (the packet left the host's stack, like a firewall further away).
func egress(rule string) string {
	return fmt.Sprintf(`  chain egress {
    type filter hook egress device %q priority 0; policy accept;
    %s
  }`, IfAgent, rule)
}

// labdFault changes labd's state and makes it reload.
func labdFault(name, desc string, set func(s *LabdState, on bool, arg string)) Fault {
	apply := func(l *Lab, on bool, arg string) error {
		s, err := l.ReadLabdState()
		if err != nil {
			return err
		}
		set(&s, on, arg)
		return l.WriteLabdState(s)
	}
	return Fault{Name: name, Desc: desc,
		on:  func(_ context.Context, l *Lab, arg string) error { return apply(l, true, arg) },
		off: func(_ context.Context, l *Lab) error { return apply(l, false, "") },
	}
}

// Faults lists every fault, by name.
var Faults = map[string]Fault{}

func init() {
	for _, f := range []Fault{
		nftFault("udp-drop", "UDP 3478 silently dropped on the way out (the check times out)", "agent", "netdev",
			egress("udp dport 3478 drop"), false),
		nftFault("udp-reject", "UDP 3478 blocked by a local firewall rule (sendto: operation not permitted)", "agent", "inet",
			`  chain output {
    type filter hook output priority 0; policy accept;
    udp dport 3478 drop
  }`, false),
		nftFault("tcp443-drop", "TCP 443 silently dropped (HTTPS endpoints time out)", "agent", "netdev",
			egress("tcp dport 443 drop"), false),
		nftFault("large-drop", "UDP 3478 datagrams longer than 1000 bytes dropped, small ones pass", "agent", "netdev",
			egress("udp dport 3478 meta length > 1000 drop"), false),
		nftFault("turn-loss", "exactly 2% of UDP 3478 dropped (every 50th packet)", "agent", "netdev",
			egress("udp dport 3478 numgen inc mod 50 == 0 drop"), false),
		nftFault("nat-symmetric", "the wan masquerades with random ports: address-dependent (symmetric) NAT", "wan", "ip",
			fmt.Sprintf(`  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname %q masquerade random
  }`, IfWanCloud), true),
		labdFault("dns-down", "the DNS server stops answering (its port is closed)", func(s *LabdState, on bool, _ string) {
			s.DNSDown = on
		}),
		labdFault("nxdomain", "DNS answers NXDOMAIN for the TURN names", func(s *LabdState, on bool, _ string) {
			s.NXDomain = nil
			if on {
				s.NXDomain = append([]string(nil), TURNNames...)
			}
		}),
		labdFault("hijack", "DNS answers "+WebNames[0]+" with "+Hijacked+", outside the published ranges", func(s *LabdState, on bool, _ string) {
			s.Hijack = nil
			if on {
				s.Hijack = map[string]string{WebNames[0]: Hijacked}
			}
		}),
		labdFault("intercept", "HTTPS endpoints present a certificate from an unknown CA ("+rogueCAName+")", func(s *LabdState, on bool, _ string) {
			s.Intercept = on
		}),
		{Name: "turn-down", Desc: "coturn #1 (" + TURNNames[0] + ") stopped: DNS and TCP still fine",
			on: func(_ context.Context, l *Lab, _ string) error { return l.StopTURN(1) },
			off: func(ctx context.Context, l *Lab) error {
				if err := l.startTURN(ctx, 1, TURN1); err != nil {
					return err
				}
				return l.waitListen(ctx, "turn1", "-lun", TURN1+":3478")
			}},
		{Name: "impair", Desc: "bridged lab only: the bridge's impairment, e.g. on impair 'ab delay=80ms,jitter=10ms,every=50; ba delay=5ms'",
			on: func(_ context.Context, l *Lab, arg string) error {
				if !l.Bridged {
					return fmt.Errorf("netlab: impair needs the bridged lab (make lab LAB_MODE=bridged)")
				}
				return l.SetImpairment(arg)
			},
			off: func(_ context.Context, l *Lab) error {
				if !l.Bridged {
					return nil
				}
				return l.SetImpairment("ab none\nba none")
			}},
	} {
		Faults[f.Name] = f
	}
}

// FaultNames lists the faults, sorted.
func FaultNames() []string {
	var n []string
	for k := range Faults {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// On switches a fault on; arg is only used by impair.
func (l *Lab) On(ctx context.Context, name, arg string) error {
	f, ok := Faults[name]
	if !ok {
		return fmt.Errorf("netlab: unknown fault %q (known: %s)", name, strings.Join(FaultNames(), ", "))
	}
	if f.Routed && l.Bridged {
		return fmt.Errorf("netlab: fault %s needs the routed lab (the bridged wan does not route)", name)
	}
	if err := f.on(ctx, l, arg); err != nil {
		return err
	}
	return l.save()
}

// Off switches a fault off.
func (l *Lab) Off(ctx context.Context, name string) error {
	f, ok := Faults[name]
	if !ok {
		return fmt.Errorf("netlab: unknown fault %q (known: %s)", name, strings.Join(FaultNames(), ", "))
	}
	if err := f.off(ctx, l); err != nil {
		return err
	}
	return l.save()
}

// SetImpairment rewrites the bridge's conf ("ab SPEC" and "ba SPEC" lines
// or ;-separated parts;
// a line that is missing keeps that direction) and makes it reload.
func (l *Lab) SetImpairment(conf string) error {
	cur, err := lines(l.File("bridge.conf"))
	if err != nil {
		return err
	}
	for _, ln := range strings.FieldsFunc(conf, func(r rune) bool { return r == '\n' || r == ';' }) {
		k, v, _ := strings.Cut(strings.TrimSpace(ln), " ")
		if k == "" {
			continue
		}
		if k != "ab" && k != "ba" {
			return fmt.Errorf("netlab: impairment line %q: want \"ab SPEC\" or \"ba SPEC\"", ln)
		}
		cur[k] = strings.TrimSpace(v)
	}
	if err := safefile.Replace(l.File("bridge.conf"), []byte("ab "+orNone(cur["ab"])+"\nba "+orNone(cur["ba"])+"\n"), 0o644, false); err != nil {
		return err
	}
	return l.Signal("bridge", syscall.SIGHUP)
}

func (l *Lab) reloadLabd() error { return l.Signal("labd", syscall.SIGHUP) }
