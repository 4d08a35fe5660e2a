package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"unicode"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// env.vpn: for each TURN server, the local interface and source address
// the operating system would use to reach it, found with a connected UDP
// socket (connect(2) on UDP picks the route and source address and sends
// nothing). A tunnel interface means the softphone's media would go
// through the VPN: extra delay and jitter, and VPN gateways often drop or
// throttle UDP. The remedy is split tunnelling for UDP 3478.
var envVPN = Probe{
	Kind:    result.Kind{ID: "env.vpn", Layer: result.LayerComputer, DependsOn: []string{"dns.resolve"}, Summary: &result.Summary{Label: "Media route", Detail: "path"}, Local: true},
	Budget:  timeout, // a route lookup is instant; the budget is for the shared DNS answer
	Targets: turnTargets,
	Run:     runEnvVPN,
}

// adapterDesc is what Windows tells about an adapter beyond its name.
type adapterDesc struct {
	Description string
	Type        uint32 // IfType (ipifcons.h)
}

// ifaceInfo is what is known of a local interface, for classifyIface.
type ifaceInfo struct {
	// OS is runtime.GOOS of the machine the interface is on.
	OS   string
	Name string
	// Description is the Windows adapter description ("" elsewhere).
	Description string
	Flags       net.Flags
	// Type is the Windows IfType (0 when unknown).
	Type uint32
}

// tunnelMatch is classifyIface's verdict.
type tunnelMatch struct {
	Tunnel bool
	// Kind names what was recognised: a vendor ("Cisco AnyConnect") or a
	// kind of link ("a WireGuard interface", "a point-to-point link").
	Kind string
}

// Windows interface types (ipifcons.h) that are tunnels by construction.
const (
	ifTypePPP    = 23  // IF_TYPE_PPP: dial-up and SSTP/L2TP/PPTP VPN links
	ifTypeTunnel = 131 // IF_TYPE_TUNNEL: encapsulation interfaces
)

// vpnVendors are words in an adapter's name or description that identify
// a VPN or secure-access client, matched case-insensitively in order.
var vpnVendors = []struct{ word, kind string }{
	{"anyconnect", "Cisco AnyConnect"},
	{"cisco secure client", "Cisco Secure Client"},
	{"cscotun", "Cisco AnyConnect"},
	{"globalprotect", "Palo Alto GlobalProtect"},
	{"pangp", "Palo Alto GlobalProtect"},
	{"wintun", "Wintun (WireGuard-style tunnel)"},
	{"wireguard", "WireGuard"},
	{"tap-windows", "OpenVPN TAP-Windows"},
	{"tap-win32", "OpenVPN TAP-Windows"},
	{"openvpn", "OpenVPN"},
	{"fortinet", "Fortinet FortiClient"},
	{"forticlient", "Fortinet FortiClient"},
	{"fortissl", "Fortinet FortiClient"},
	{"zscaler", "Zscaler"},
	{"netskope", "Netskope"},
	{"pulse secure", "Ivanti/Pulse Secure"},
	{"ivanti", "Ivanti/Pulse Secure"},
	{"juniper", "Juniper"},
	{"check point", "Check Point"},
	{"checkpoint", "Check Point"},
	{"sonicwall", "SonicWall"},
	{"f5 networks", "F5 BIG-IP Edge"},
	{"nordlynx", "NordVPN"},
	{"tailscale", "Tailscale"},
	{"zerotier", "ZeroTier"},
	{"wan miniport", "a Windows built-in VPN (WAN Miniport)"},
}

// tunnelPrefixes are interface name prefixes of tunnels, per OS.
var tunnelPrefixes = map[string][]struct{ prefix, kind string }{
	"linux": {
		{"tun", "a TUN (layer-3 VPN) interface"}, {"tap", "a TAP (layer-2 VPN) interface"},
		{"wg", "a WireGuard interface"}, {"ppp", "a PPP link (PPTP/L2TP VPN)"},
		{"ipsec", "an IPsec interface"}, {"utun", "a user-space tunnel"}, {"vti", "an IPsec VTI tunnel"},
		{"gpd", "Palo Alto GlobalProtect"}, {"gre", "a GRE tunnel"}, {"vpn", "a VPN interface"},
		{"zt", "ZeroTier"},
	},
	"darwin": {
		{"utun", "a macOS utun tunnel (used by most VPN clients)"}, {"ipsec", "an IPsec interface"},
		{"ppp", "a PPP link (L2TP/PPTP VPN)"}, {"gpd", "Palo Alto GlobalProtect"},
		{"tun", "a TUN interface"}, {"tap", "a TAP interface"},
	},
}

// classifyIface tells whether an interface is a tunnel, from its name,
// Windows description and type, and flags. Pure: the same answer for the
// same input on any OS, so every OS's rules are tested everywhere.
func classifyIface(i ifaceInfo) tunnelMatch {
	if i.Flags&net.FlagLoopback != 0 {
		return tunnelMatch{}
	}
	hay := strings.ToLower(i.Name + " " + i.Description)
	for _, v := range vpnVendors {
		if strings.Contains(hay, v.word) {
			return tunnelMatch{Tunnel: true, Kind: v.kind}
		}
	}
	switch i.Type {
	case ifTypePPP:
		return tunnelMatch{Tunnel: true, Kind: "a PPP (dial-up or VPN) link"}
	case ifTypeTunnel:
		return tunnelMatch{Tunnel: true, Kind: "a tunnel interface"}
	}
	name := strings.ToLower(i.Name)
	prefixes := tunnelPrefixes[i.OS]
	if i.OS == "windows" {
		prefixes = nil // Windows names are user-chosen ("Ethernet 2"); the description decides
	}
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(name, p.prefix); ok && (rest == "" || startsNumOrSep(rest)) {
			return tunnelMatch{Tunnel: true, Kind: p.kind}
		}
	}
	if i.Flags&net.FlagPointToPoint != 0 {
		return tunnelMatch{Tunnel: true, Kind: "a point-to-point link"}
	}
	if strings.Contains(" "+strings.ToLower(i.Description)+" ", " vpn ") || strings.Contains(name, "vpn") {
		return tunnelMatch{Tunnel: true, Kind: "a VPN adapter"}
	}
	return tunnelMatch{}
}

func startsNumOrSep(s string) bool {
	r := rune(s[0])
	return unicode.IsDigit(r) || r == '-' || r == '_' || r == '.'
}

// routeTo returns the source address and interface the OS would use to
// send to dst. Nothing is sent: a UDP connect only picks the route.
func routeTo(dst netip.AddrPort) (netip.Addr, *net.Interface, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return netip.Addr{}, nil, err
	}
	src := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	_ = c.Close()
	ifs, err := net.Interfaces()
	if err != nil {
		return src, nil, nil
	}
	for i := range ifs {
		addrs, err := ifs[i].Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			var ip net.IP
			switch v := a.(type) {
			case *net.IPNet:
				ip = v.IP
			case *net.IPAddr:
				ip = v.IP
			}
			if x, ok := netip.AddrFromSlice(ip); ok && x.Unmap() == src {
				return src, &ifs[i], nil
			}
		}
	}
	return src, nil, nil
}

func runEnvVPN(ctx context.Context, env *Env, t Target) Result {
	r := Result{Target: t.Name}
	ans := env.DNS.Lookup(ctx, t.Endpoint.Host)
	if ans.Err != nil || len(ans.Addrs) == 0 {
		r.Status = Skip
		r.Reason = fmt.Sprintf("%s does not resolve, so its route cannot be checked (see dns.resolve)", t.Endpoint.Host)
		return r
	}
	dst := netip.AddrPortFrom(preferIPv4(ans.Addrs), uint16(t.Endpoint.Port))
	r.Address = dst.String()
	src, ifc, err := routeTo(dst)
	if err != nil {
		k := Classify(err)
		r.Status, r.Phase = Fail, result.PhaseRoute
		r.Reason = Explain(k, "UDP to "+dst.String())
		r.Remedy = "give this computer a route to " + dst.Addr().String() + " (a default route, or a VPN that carries it); " + RemedyTURN(env.Cfg, t.Endpoint)
		if k == KindPermission {
			r.Remedy = RemedyTURN(env.Cfg, t.Endpoint)
		}
		return r
	}
	r.SetDetail("source_address", src.String())
	if ifc == nil {
		r.Status = Pass
		r.SetDetail("interface", "unknown")
		return r
	}
	info := ifaceInfo{OS: runtime.GOOS, Name: ifc.Name, Flags: ifc.Flags}
	if d, ok := adapterInfo()[ifc.Index]; ok {
		info.Description, info.Type = d.Description, d.Type
		r.SetDetail("interface_description", d.Description)
	}
	r.SetDetail("interface", ifc.Name)
	r.SetDetail("interface_flags", ifc.Flags.String())
	m := classifyIface(info)
	if !m.Tunnel {
		r.Status = Pass
		r.SetDetail("path", "direct (not a tunnel)")
		return r
	}
	r.SetDetail("path", "VPN tunnel: "+m.Kind)
	r.Status, r.Phase = Warn, result.PhaseRoute
	r.Reason = fmt.Sprintf("media goes through the VPN: the route to %s (%s) leaves by %s, %s (source address %s); relay media inside a tunnel gets extra delay and jitter, and VPN gateways often drop or throttle UDP", t.Endpoint.Host, dst.Addr(), ifc.Name, m.Kind, src)
	r.Remedy = remedySplitTunnel(env, t)
	return r
}

// remedySplitTunnel says what to exclude from the VPN tunnel.
func remedySplitTunnel(env *Env, t Target) string {
	s := fmt.Sprintf("configure split tunnelling so media bypasses the VPN: exclude UDP %d to %s", t.Endpoint.Port, t.Endpoint.Host)
	if env.Cfg != nil && env.Cfg.Region != "" && strings.HasPrefix(strings.ToLower(t.Endpoint.Host), "turnnlb-") {
		s += fmt.Sprintf(" (all TurnNlb-*.elb.%s.amazonaws.com names)", env.Cfg.Region)
	}
	if p := connectPrefixes(env.Cfg); p != "" {
		s += " or the AMAZON_CONNECT ranges " + p
	}
	return s + " from the tunnel, and allow that UDP on the local network's firewall"
}
