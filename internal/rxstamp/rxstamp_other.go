//go:build !linux

package rxstamp

import (
	"net"
	"time"
)

func enable(*net.UDPConn) bool { return false }

func parse([]byte) (time.Time, bool) { return time.Time{}, false }
