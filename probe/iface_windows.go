//go:build windows

package probe

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// adapterInfo returns each adapter's description and interface type, by
// interface index. Go's net.Interface carries only the friendly name
// ("Ethernet 2"), while VPN clients are recognised by their description
// ("Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter").
// A nil map means the information is not available.
func adapterInfo() map[int]adapterDesc {
	size := uint32(15000)
	for range 3 {
		b := make([]byte, size)
		aa := (*windows.IpAdapterAddresses)(unsafe.Pointer(&b[0]))
		err := windows.GetAdaptersAddresses(syscall.AF_UNSPEC, windows.GAA_FLAG_SKIP_ANYCAST|windows.GAA_FLAG_SKIP_MULTICAST|windows.GAA_FLAG_SKIP_DNS_SERVER, 0, aa, &size)
		if err == windows.ERROR_BUFFER_OVERFLOW {
			continue
		}
		if err != nil {
			return nil
		}
		out := map[int]adapterDesc{}
		for a := aa; a != nil; a = a.Next {
			d := adapterDesc{Description: windows.UTF16PtrToString(a.Description), Type: a.IfType}
			if a.IfIndex != 0 {
				out[int(a.IfIndex)] = d
			}
			if a.Ipv6IfIndex != 0 {
				out[int(a.Ipv6IfIndex)] = d
			}
		}
		return out
	}
	return nil
}
