package probe

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
)

// windowsErr is a connection error as Go on Windows returns it: the WSA or
// Win32 code in a syscall.Errno, in an os.SyscallError, in a net.OpError.
func windowsErr(op string, code uintptr) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(15, 193, 6, 10), Port: 443},
		Err: os.NewSyscallError(op, syscall.Errno(code))}
}

// TestClassifyWindowsErrors reads a Windows agent's connection errors on
// any OS (the mapping is data). Before the table, every one of them was
// KindOther: errors.Is(err, syscall.ECONNREFUSED) never matches a WSA code,
// so a Windows report said only "failed" with a generic fix.
func TestClassifyWindowsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   string
		code uintptr
		want Kind
	}{
		{"refused WSAECONNREFUSED", "connectex", 10061, KindRefused},
		{"refused ERROR_CONNECTION_REFUSED", "connectex", 1225, KindRefused},
		{"timeout WSAETIMEDOUT", "connectex", 10060, KindTimeout},
		{"timeout ERROR_SEM_TIMEOUT", "connectex", 121, KindTimeout},
		{"host unreachable WSAEHOSTUNREACH", "connectex", 10065, KindUnreachable},
		{"network unreachable WSAENETUNREACH", "connectex", 10051, KindUnreachable},
		{"host unreachable ERROR_HOST_UNREACHABLE", "connectex", 1232, KindUnreachable},
		{"network unreachable ERROR_NETWORK_UNREACHABLE", "connectex", 1231, KindUnreachable},
		{"network down WSAENETDOWN", "connectex", 10050, KindUnreachable},
		{"reset WSAECONNRESET", "wsarecv", 10054, KindReset},
		{"aborted WSAECONNABORTED", "wsarecv", 10053, KindReset},
		{"aborted ERROR_CONNECTION_ABORTED", "wsarecv", 1236, KindReset},
		{"local firewall WSAEACCES", "connectex", 10013, KindPermission},
		{"local firewall sendto WSAEACCES", "wsasendto", 10013, KindPermission},
		{"group policy ERROR_ACCESS_DISABLED_BY_POLICY", "connectex", 1260, KindPermission},
		{"unknown code", "connectex", 10047, KindOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := windowsErr(tc.op, tc.code)
			if got := classifyErrno("windows", err); got != tc.want {
				t.Errorf("windows %d (%v): %s, want %s", tc.code, err, got, tc.want)
			}
			if runtime.GOOS == "windows" {
				if got := Classify(err); got != tc.want {
					t.Errorf("Classify on Windows: %s, want %s", got, tc.want)
				}
			}
		})
	}
	// The remedy follows the kind: a Windows firewall block names this
	// computer's firewall, not the network's.
	cfg := &config.Config{Region: "us-east-1"}
	e := catalog.Endpoint{Host: "myalias.my.connect.aws", Port: 443}
	k := classifyErrno("windows", windowsErr("connectex", 10013))
	if r := connectRemedy(cfg, e, k); !strings.Contains(r, "firewall on this computer") {
		t.Errorf("remedy for WSAEACCES: %q", r)
	}
	if x := Explain(k, "TCP 443 to myalias.my.connect.aws"); !strings.Contains(x, "blocked on this computer") {
		t.Errorf("explain for WSAEACCES: %q", x)
	}
}

// TestClassifyOwnOSUnchanged: on the OS the tests run on, its own errors
// keep their kinds, and another OS's numbers never take the POSIX names
// (Win32's 121, ERROR_SEM_TIMEOUT, is Linux's EREMOTEIO).
func TestClassifyOwnOSUnchanged(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX error numbers")
	}
	for errno, want := range map[syscall.Errno]Kind{
		syscall.ECONNREFUSED: KindRefused, syscall.EHOSTUNREACH: KindUnreachable, syscall.ENETUNREACH: KindUnreachable,
		syscall.EPERM: KindPermission, syscall.EACCES: KindPermission, syscall.ECONNRESET: KindReset,
	} {
		if got := Classify(fmt.Errorf("dial: %w", os.NewSyscallError("connect", errno))); got != want {
			t.Errorf("%v: %s, want %s", errno, got, want)
		}
	}
	if got := classifyErrno("windows", os.NewSyscallError("connect", syscall.EPERM)); got != KindPermission && got != KindOther {
		t.Errorf("EPERM read as Windows: %s", got)
	}
	if got := classifyErrno("linux", windowsErr("connectex", 10061)); got != KindOther {
		t.Errorf("a WSA code read as Linux: %s, want error (unknown)", got)
	}
}
