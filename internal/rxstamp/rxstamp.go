// Package rxstamp reads UDP datagrams with the time the kernel received
// them (SO_TIMESTAMPNS on Linux), so a measurement is not inflated by how
// late the Go scheduler got round to the reading goroutine: on a loaded
// 2-core machine that adds a tail of several milliseconds (measured p99
// 1.6 ms, max 4 ms on a 20 ms path). Where the kernel cannot stamp, the
// time of the read is used.
package rxstamp

import (
	"net"
	"time"
)

// enableSettle is how long after the first socket enables timestamps
// Linux takes to stamp on arrival: it switches stamping on system-wide
// through deferred work, and until then stamps a datagram when it is read
// (which is the fallback's accuracy, never worse). Callers should start
// measuring at least this long after opening their sockets (probe's
// mediaStartLead does).
const enableSettle = 20 * time.Millisecond

// Conn wraps a UDP socket whose reads carry receive times.
type Conn struct {
	*net.UDPConn
	stamped bool
	oob     []byte
}

// New enables kernel receive timestamps on c when the platform has them.
// The Conn is not safe for concurrent reads (one reader, as usual for UDP
// pumps); writes may be concurrent.
func New(c *net.UDPConn) *Conn {
	return &Conn{UDPConn: c, stamped: enable(c), oob: make([]byte, 128)}
}

// Stamped reports whether receive times come from the kernel.
func (c *Conn) Stamped() bool { return c.stamped }

// Read reads one datagram and returns when it arrived. The time carries
// a monotonic reading: it is the read time moved back by how long ago the
// kernel stamped the datagram, so it can be compared with time.Now()
// values taken in this process.
func (c *Conn) Read(b []byte) (int, *net.UDPAddr, time.Time, error) {
	if !c.stamped {
		n, a, err := c.ReadFromUDP(b)
		return n, a, time.Now(), err
	}
	n, oobn, _, a, err := c.ReadMsgUDP(b, c.oob)
	now := time.Now()
	if err != nil {
		return n, a, now, err
	}
	if kt, ok := parse(c.oob[:oobn]); ok {
		if lag := now.Sub(kt); lag > 0 && lag < time.Second {
			return n, a, now.Add(-lag), nil
		}
	}
	return n, a, now, nil
}
