package probe

import (
	"context"
	"net"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// useSystemResolverAt makes the "system resolver" path ask server (Go's
// own resolver, as on a machine whose resolv.conf names that server).
func useSystemResolverAt(t *testing.T, server string) {
	old := systemResolver
	systemResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
	t.Cleanup(func() { systemResolver = old })
}

func TestSystemResolverFailuresToldApart(t *testing.T) {
	for mode, want := range map[lab.DNSMode]string{
		lab.DNSNXDomain: DNSNXDomain,
		lab.DNSServFail: DNSServFail,
		lab.DNSRefused:  DNSServFail, // Go's resolver does not tell REFUSED from SERVFAIL
		lab.DNSSilent:   DNSTimeout,
		lab.DNSAnswer:   "",
	} {
		s := startDNS(t, lab.DNSOptions{Mode: mode})
		useSystemResolverAt(t, s.Addr)
		a := NewResolver("").Lookup(context.Background(), "name.example")
		if a.Kind != want || a.Server != "system resolver" {
			t.Errorf("mode %d: kind %q (%v), want %q", mode, a.Kind, a.Err, want)
		}
	}
}

func TestDNSResolveSystemServFailSaysWhichIsUnknown(t *testing.T) {
	s := startDNS(t, lab.DNSOptions{Mode: lab.DNSRefused})
	useSystemResolverAt(t, s.Addr)
	r := runProbe(t, dnsResolve, envFor(""), turnEndpoint())
	wantResult(t, r, Fail, result.PhaseResolve, []string{"SERVFAIL or REFUSED", testTURNHost}, []string{"resolver:", "outbound UDP and TCP 53"})
}
