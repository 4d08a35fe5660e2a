package preflight

import (
	"net"
	"net/netip"
	"os"
	"runtime"

	"github.com/ccp-preflight/ccp-preflight/report"
)

// Route probes: connecting a UDP socket picks the source address and
// interface of the route to the address without sending anything. The
// addresses are documentation prefixes (RFC 5737, RFC 3849): they follow
// the default route and are never contacted.
const (
	routeProbe4 = "192.0.2.1:9"
	routeProbe6 = "[2001:db8::1]:9"
)

// Environment describes this computer for the report: its name, OS and
// version, and the source address and interface of its default IPv4 and
// IPv6 routes. It sends nothing; a field it cannot learn stays empty.
func Environment() *report.Environment {
	e := &report.Environment{OS: osVersion()}
	e.Hostname, _ = os.Hostname()
	if ip, ifc := routeSource("udp4", routeProbe4); ip.IsValid() {
		e.LocalIP, e.Interface = ip.String(), ifc
	}
	if ip, ifc := routeSource("udp6", routeProbe6); ip.IsValid() && !ip.IsLinkLocalUnicast() && !ip.IsLoopback() {
		e.IPv6 = "yes, from " + ip.String()
		if ifc != "" {
			e.IPv6 += " on " + ifc
		}
		if ip.IsPrivate() {
			e.IPv6 += " (a private address)"
		}
	} else {
		e.IPv6 = "no IPv6 route (the softphone uses IPv4)"
	}
	return e
}

// routeSource returns the source address of the route to addr and the name
// of the interface that holds it (invalid when there is no route).
func routeSource(network, addr string) (netip.Addr, string) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return netip.Addr{}, ""
	}
	defer c.Close()
	ua, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, ""
	}
	ip, _ := netip.AddrFromSlice(ua.IP)
	ip = ip.Unmap()
	return ip, interfaceOf(ip)
}

// interfaceOf names the interface that holds ip ("" when none does).
func interfaceOf(ip netip.Addr) string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
				return ifc.Name
			}
		}
	}
	return ""
}

// osName is the OS family and architecture, the fallback of osVersion.
func osName() string { return runtime.GOOS + "/" + runtime.GOARCH }
