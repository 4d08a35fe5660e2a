//go:build !linux

package probe

import "testing"

// udpTestInNetns needs Linux network namespaces and nftables.
func udpTestInNetns(t testing.TB, dport int, fn func()) {
	t.Helper()
	t.Skip("needs Linux network namespaces and nftables (root)")
}
