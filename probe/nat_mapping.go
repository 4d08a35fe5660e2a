package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"

	"github.com/ccp-preflight/ccp-preflight/config"
)

// natMapping sends STUN Bindings from ONE socket to two TURN servers and
// compares the public addresses they saw: the same address and port is an
// endpoint-independent mapping; a different one is address-dependent
// ("symmetric") NAT. It needs two TURN servers.
var natMapping = Probe{
	Kind:    result.Kind{ID: "nat.mapping", Layer: result.LayerMedia, DependsOn: []string{"stun.binding"}, Summary: &result.Summary{Label: "NAT", Detail: "mapping"}},
	Budget:  udpBudget,
	Targets: natTargets,
	Why: func(c *config.Config) string {
		return fmt.Sprintf("needs two TURN servers to compare the public address each one sees; %d configured", len(c.TURN))
	},
	Run: runNATMapping,
}

// natTargets is one target (the whole comparison) when there are at least
// two TURN servers, else none (a skip with Why).
func natTargets(c *config.Config) []Target {
	if len(c.TURN) < 2 {
		return nil
	}
	names := make([]string, len(c.TURN))
	for i, e := range c.TURN {
		names[i] = e.Addr()
	}
	return []Target{{Name: "mapping across " + strings.Join(names, ", ")}}
}

// natPerServer bounds one Binding of the comparison so that a silent first
// server leaves time for the others: half the budget each.
const natPerServer = udpProbeBudget / 2

func runNATMapping(ctx context.Context, env *Env, t Target) Result {
	r := Result{Target: t.Name}
	// Resolve the servers; keep distinct addresses of one family.
	type server struct {
		name string
		addr netip.AddrPort
	}
	var servers []server
	seen := map[netip.AddrPort]bool{}
	for _, tt := range turnTargets(env.Cfg) {
		ap, _, ok := resolveUDP(ctx, env, tt)
		if !ok || seen[ap] || (len(servers) > 0 && ap.Addr().Is4() != servers[0].addr.Addr().Is4()) {
			continue
		}
		seen[ap] = true
		servers = append(servers, server{tt.Endpoint.Addr(), ap})
	}
	if len(servers) < 2 {
		r.Status, r.Phase = Skip, result.PhaseResolve
		r.Reason = "fewer than two TURN servers resolved to distinct addresses, so mappings could not be compared (see dns.resolve)"
		return r
	}
	network := "udp4"
	if !servers[0].addr.Addr().Is4() {
		network = "udp6"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		r.Status, r.Phase, r.Reason = Fail, result.PhaseSocket, fmt.Sprintf("could not open a UDP socket: %v", err)
		return r
	}
	defer conn.Close()

	type got struct {
		name           string
		server, mapped netip.AddrPort
	}
	var maps []got
	var failed []string
	for _, s := range servers {
		if len(maps) == 2 || ctx.Err() != nil {
			break
		}
		sctx, cancel := context.WithTimeout(ctx, natPerServer)
		x, mapped, err := Binding(sctx, conn, net.UDPAddrFromAddrPort(s.addr), Schedule{})
		cancel()
		if err != nil {
			return udpInternal(r, err)
		}
		if !x.OK() || !mapped.IsValid() {
			failed = append(failed, s.name+" ("+string(x.Kind)+")")
			continue
		}
		maps = append(maps, got{s.name, s.addr, mapped})
	}
	if len(maps) < 2 {
		r.Status, r.Phase = Skip, result.PhaseBinding
		r.Reason = "fewer than two TURN servers answered a STUN Binding (no answer from " + strings.Join(failed, ", ") + "; see stun.binding), so mappings could not be compared"
		return r
	}
	a, b := maps[0], maps[1]
	// Two ports of one server test port dependence, two servers address dependence.
	sameIP := a.server.Addr() == b.server.Addr()
	r.Target = a.name + " and " + b.name
	r.Address = a.mapped.String()
	r.SetDetail("mapped_address", a.mapped.String())
	r.SetDetail("mapped_address_2", b.mapped.String())
	r.SetDetail("servers", a.name+", "+b.name)
	local, _ := netip.ParseAddrPort(conn.LocalAddr().String())
	r.Status = Pass
	relayOnly := "Connect's softphone sends all media through TURN (relay-only), so calls work with either kind of NAT"
	switch {
	case a.mapped == b.mapped && local.IsValid() && local.Port() == a.mapped.Port() && isOwnAddress(a.mapped.Addr()):
		r.SetDetail("mapping", "none")
		r.Reason = fmt.Sprintf("no NAT: both servers see this computer's own address %s. %s", a.mapped, relayOnly)
	case a.mapped == b.mapped:
		r.SetDetail("mapping", "endpoint-independent")
		r.Reason = fmt.Sprintf("endpoint-independent mapping: %s and %s both see this computer as %s (the NAT keeps one public address and port per socket, whatever the destination). %s", a.name, b.name, a.mapped, relayOnly)
	case a.mapped.Addr() == b.mapped.Addr():
		kind, per := "address-dependent", "destination address"
		if sameIP {
			kind, per = "address-and-port-dependent", "destination port"
		}
		r.SetDetail("mapping", kind)
		r.Reason = fmt.Sprintf("%s (symmetric) mapping: %s sees %s but %s sees %s (the NAT picks a new public port per %s). %s; but every call uses a public port per destination, so a site with many agents behind one address can run out of ports (see capacity.streams)", kind, a.name, a.mapped, b.name, b.mapped, per, relayOnly)
	default:
		r.SetDetail("mapping", "address-dependent")
		r.Reason = fmt.Sprintf("address-dependent mapping across several public addresses: %s sees %s but %s sees %s (the NAT or load-balanced egress uses a different public address per destination). %s; allowlists on the TURN side must then cover every egress address", a.name, a.mapped, b.name, b.mapped, relayOnly)
	}
	return r
}

// isOwnAddress reports whether a is one of this computer's interface
// addresses (then there is no NAT on the path).
func isOwnAddress(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().Unmap() == a.Unmap() {
			return true
		}
	}
	return false
}
