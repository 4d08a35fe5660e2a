// The operating systems' socket error numbers as data, so that Classify
// reads a Windows agent's errors on every OS and table tests run on Linux.
// This file builds everywhere (its name ends in no GOOS).

package probe

// errnoKinds maps an operating system's error numbers to failure kinds,
// for the errors errors.Is cannot match there. On Windows a connection
// error is a WSA code (winsock2.h) or a Win32 code (winerror.h), never
// the syscall.ECONNREFUSED … constants Go defines for portability, so
// errors.Is(err, syscall.ECONNREFUSED) is always false. The codes of
// different systems overlap (Win32's 121 is Linux's EREMOTEIO), hence one
// table per GOOS.
var errnoKinds = map[string]map[uintptr]Kind{
	"windows": {
		// Refused: the host (or a firewall) answered with a reset.
		10061: KindRefused, // WSAECONNREFUSED: "the target machine actively refused it"
		1225:  KindRefused, // ERROR_CONNECTION_REFUSED (ConnectEx completion)
		1234:  KindRefused, // ERROR_PORT_UNREACHABLE: ICMP port unreachable
		// Timeout: the SYN retries ran out, nothing answered.
		10060: KindTimeout, // WSAETIMEDOUT
		121:   KindTimeout, // ERROR_SEM_TIMEOUT (overlapped connect)
		1460:  KindTimeout, // ERROR_TIMEOUT
		// Unreachable: no route to the host or its network.
		10065: KindUnreachable, // WSAEHOSTUNREACH
		10051: KindUnreachable, // WSAENETUNREACH
		10050: KindUnreachable, // WSAENETDOWN: the network is down
		10064: KindUnreachable, // WSAEHOSTDOWN
		10049: KindUnreachable, // WSAEADDRNOTAVAIL: no usable source address
		1231:  KindUnreachable, // ERROR_NETWORK_UNREACHABLE
		1232:  KindUnreachable, // ERROR_HOST_UNREACHABLE
		// Reset or aborted mid-way.
		10054: KindReset, // WSAECONNRESET: reset by the peer or a middlebox
		10053: KindReset, // WSAECONNABORTED: aborted (often security software on this computer)
		10052: KindReset, // WSAENETRESET
		1236:  KindReset, // ERROR_CONNECTION_ABORTED
		64:    KindReset, // ERROR_NETNAME_DELETED: the connection went away during I/O
		// Stopped on this computer: Windows Defender Firewall or another
		// WFP filter blocks the socket before anything is sent.
		10013: KindPermission, // WSAEACCES: "forbidden by its access permissions"
		5:     KindPermission, // ERROR_ACCESS_DENIED
		1260:  KindPermission, // ERROR_ACCESS_DISABLED_BY_POLICY: blocked by group policy
	},
}

// errnoKind returns the kind of error number code on goos, or KindNone
// when the table does not know it.
func errnoKind(goos string, code uintptr) Kind {
	return errnoKinds[goos][code]
}
