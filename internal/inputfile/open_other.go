//go:build !unix

package inputfile

// openFlags: Windows has no FIFOs that block open.
const openFlags = 0
