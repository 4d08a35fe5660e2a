//go:build unix

package inputfile

import "syscall"

// openFlags keeps open(2) from waiting for a FIFO's writer.
const openFlags = syscall.O_NONBLOCK
