package probe

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"syscall"
)

// Kind classifies a network failure, because the remedy differs: a
// timeout is a silent drop somewhere on the path, refused means a host
// answered but nothing listens (or a firewall rejects), permission means a
// local firewall rule stopped the send at once.
type Kind string

// Failure kinds.
const (
	KindNone        Kind = ""
	KindTimeout     Kind = "timeout"     // no answer within the budget: silently dropped
	KindRefused     Kind = "refused"     // connection refused / ICMP port unreachable
	KindUnreachable Kind = "unreachable" // no route: network or host unreachable
	KindPermission  Kind = "permission"  // EPERM/EACCES: a local firewall rule
	KindReset       Kind = "reset"       // connection reset mid-way: often a middlebox
	KindCancelled   Kind = "cancelled"   // the run was interrupted
	KindOther       Kind = "error"
)

// Classify returns the Kind of a network error (KindNone for nil), on
// every OS: context ends and timeouts first, then the system's error
// number (classifyErrno; Windows' WSA codes from the table in
// classify_wsa.go).
func Classify(err error) Kind {
	if err == nil {
		return KindNone
	}
	if errors.Is(err, context.Canceled) {
		return KindCancelled
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return KindTimeout
	}
	return classifyErrno(runtime.GOOS, err)
}

// classifyErrno classifies err's system error number as goos reports it:
// the per-OS table first (errnoKinds: Windows' WSA and Win32 codes), then
// the POSIX errors. Classify passes runtime.GOOS; tests pass "windows" to
// read a Windows agent's errors on Linux.
func classifyErrno(goos string, err error) Kind {
	var en syscall.Errno
	if errors.As(err, &en) {
		if k := errnoKind(goos, uintptr(en)); k != KindNone {
			return k
		}
		if goos != runtime.GOOS {
			return KindOther // another OS's number: the POSIX names below do not apply
		}
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return KindPermission
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL):
		return KindUnreachable
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return KindReset
	}
	return KindOther
}

// Explain says in plain words what a failure kind means on the path to
// what ("TCP 443 to host:443", "UDP 3478 to host:3478").
// rawError keeps an error this package cannot put in plain words in r's
// details ("error"), for IT: reasons stay plain (no Go error strings), and
// nothing is lost.
func rawError(r *Result, err error) {
	if err != nil {
		r.SetDetail("error", err.Error())
	}
}

// seeDetails ends a reason whose cause is only in the raw error.
const seeDetails = " (the error itself is in the details, for IT)"

func Explain(k Kind, what string) string {
	switch k {
	case KindTimeout:
		return "no answer from " + what + " before the timeout: something on the path silently drops it (a firewall or security group)"
	case KindRefused:
		return what + " was refused: the host or a firewall actively rejected it"
	case KindUnreachable:
		return what + " is unreachable: no route from this computer (check the default route, VPN or proxy-only network)"
	case KindPermission:
		return what + " was blocked on this computer before it left (the system refused to send it: operation not permitted or access denied): a local firewall rule or security software"
	case KindReset:
		return what + " was reset mid-way: a middlebox (firewall, proxy or IPS) cut the connection"
	case KindCancelled:
		return what + " was not finished: the run was interrupted"
	}
	return what + " failed"
}
