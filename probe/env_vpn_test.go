package probe

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
)

func TestClassifyIface(t *testing.T) {
	up := net.FlagUp | net.FlagRunning
	bcast := up | net.FlagBroadcast | net.FlagMulticast
	p2p := up | net.FlagPointToPoint
	tests := []struct {
		in         ifaceInfo
		tunnel     bool
		kindSubstr string
	}{
		// Linux
		{ifaceInfo{OS: "linux", Name: "eth0", Flags: bcast}, false, ""},
		{ifaceInfo{OS: "linux", Name: "wlp2s0", Flags: bcast}, false, ""},
		{ifaceInfo{OS: "linux", Name: "lo", Flags: up | net.FlagLoopback}, false, ""},
		{ifaceInfo{OS: "linux", Name: "docker0", Flags: bcast}, false, ""},
		{ifaceInfo{OS: "linux", Name: "tun0", Flags: p2p}, true, "TUN"},
		{ifaceInfo{OS: "linux", Name: "tap1", Flags: bcast}, true, "TAP"},
		{ifaceInfo{OS: "linux", Name: "wg0", Flags: p2p}, true, "WireGuard"},
		{ifaceInfo{OS: "linux", Name: "wg-corp", Flags: up}, true, "WireGuard"},
		{ifaceInfo{OS: "linux", Name: "ppp0", Flags: p2p}, true, "PPP"},
		{ifaceInfo{OS: "linux", Name: "ipsec0", Flags: up}, true, "IPsec"},
		{ifaceInfo{OS: "linux", Name: "cscotun0", Flags: p2p}, true, "Cisco AnyConnect"},
		{ifaceInfo{OS: "linux", Name: "gpd0", Flags: p2p}, true, "GlobalProtect"},
		{ifaceInfo{OS: "linux", Name: "tailscale0", Flags: p2p}, true, "Tailscale"},
		{ifaceInfo{OS: "linux", Name: "nordlynx", Flags: p2p}, true, "NordVPN"},
		{ifaceInfo{OS: "linux", Name: "corp", Flags: p2p}, true, "point-to-point"},
		{ifaceInfo{OS: "linux", Name: "tunnelbroker", Flags: bcast}, false, ""}, // "tun" + letters is not tunN
		// macOS
		{ifaceInfo{OS: "darwin", Name: "en0", Flags: bcast}, false, ""},
		{ifaceInfo{OS: "darwin", Name: "bridge0", Flags: bcast}, false, ""},
		{ifaceInfo{OS: "darwin", Name: "utun3", Flags: p2p}, true, "utun"},
		{ifaceInfo{OS: "darwin", Name: "ipsec0", Flags: up}, true, "IPsec"},
		{ifaceInfo{OS: "darwin", Name: "ppp0", Flags: p2p}, true, "PPP"},
		{ifaceInfo{OS: "darwin", Name: "gpd0", Flags: up}, true, "GlobalProtect"},
		// Windows: friendly names are user-chosen, descriptions and IfType decide
		{ifaceInfo{OS: "windows", Name: "Ethernet", Description: "Intel(R) Ethernet Connection (7) I219-LM", Flags: bcast, Type: 6}, false, ""},
		{ifaceInfo{OS: "windows", Name: "Wi-Fi", Description: "Intel(R) Wi-Fi 6 AX201 160MHz", Flags: bcast, Type: 71}, false, ""},
		{ifaceInfo{OS: "windows", Name: "tun0", Description: "Realtek PCIe GbE Family Controller", Flags: bcast, Type: 6}, false, ""},
		{ifaceInfo{OS: "windows", Name: "Ethernet 2", Description: "Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter for Windows x64", Flags: bcast, Type: 6}, true, "Cisco AnyConnect"},
		{ifaceInfo{OS: "windows", Name: "Ethernet 3", Description: "PANGP Virtual Ethernet Adapter Secure", Flags: bcast, Type: 6}, true, "GlobalProtect"},
		{ifaceInfo{OS: "windows", Name: "Local Area Connection", Description: "TAP-Windows Adapter V9", Flags: bcast, Type: 6}, true, "TAP-Windows"},
		{ifaceInfo{OS: "windows", Name: "OpenVPN Wintun", Description: "Wintun Userspace Tunnel", Flags: up, Type: 53}, true, "Wintun"},
		{ifaceInfo{OS: "windows", Name: "corp", Description: "WireGuard Tunnel", Flags: up, Type: 53}, true, "WireGuard"},
		{ifaceInfo{OS: "windows", Name: "Ethernet 4", Description: "Fortinet SSL VPN Virtual Ethernet Adapter", Flags: bcast, Type: 6}, true, "Fortinet"},
		{ifaceInfo{OS: "windows", Name: "Zscaler", Description: "Zscaler Network Adapter 1.0.2.0", Flags: bcast, Type: 6}, true, "Zscaler"},
		{ifaceInfo{OS: "windows", Name: "Ethernet 5", Description: "Juniper Networks Virtual Adapter", Flags: bcast, Type: 6}, true, "Juniper"},
		{ifaceInfo{OS: "windows", Name: "Office VPN", Description: "WAN Miniport (IKEv2)", Flags: p2p, Type: 23}, true, "WAN Miniport"},
		{ifaceInfo{OS: "windows", Name: "Dial-up", Description: "RAS Async Adapter", Flags: p2p, Type: 23}, true, "PPP"},
		{ifaceInfo{OS: "windows", Name: "isatap", Description: "Microsoft ISATAP Adapter", Flags: up, Type: 131}, true, "tunnel"},
		{ifaceInfo{OS: "windows", Name: "Ethernet 6", Description: "SonicWall NetExtender Adapter", Flags: bcast, Type: 6}, true, "SonicWall"},
		{ifaceInfo{OS: "windows", Name: "Ethernet 7", Description: "Generic VPN Adapter", Flags: bcast, Type: 6}, true, "VPN adapter"},
		{ifaceInfo{OS: "windows", Name: "vEthernet (Default Switch)", Description: "Hyper-V Virtual Ethernet Adapter", Flags: bcast, Type: 6}, false, ""},
		{ifaceInfo{OS: "windows", Name: "Loopback Pseudo-Interface 1", Flags: up | net.FlagLoopback, Type: 24}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.in.OS+"/"+tc.in.Name, func(t *testing.T) {
			m := classifyIface(tc.in)
			if m.Tunnel != tc.tunnel || !strings.Contains(strings.ToLower(m.Kind), strings.ToLower(tc.kindSubstr)) {
				t.Errorf("classifyIface(%+v) = %+v, want tunnel=%v kind containing %q", tc.in, m, tc.tunnel, tc.kindSubstr)
			}
		})
	}
}

func TestEnvVPNLoopbackIsDirect(t *testing.T) {
	cfg := &config.Config{Region: "us-east-1", Timeout: time.Second}
	r := runEnvVPN(context.Background(), NewEnv(cfg), Target{Name: "127.0.0.1:3478", Endpoint: catalog.Endpoint{Host: "127.0.0.1", Port: 3478}})
	if r.Status != Pass || r.Details["source_address"] != "127.0.0.1" || r.Details["interface"] == "" {
		t.Fatalf("got %+v", r)
	}
}
