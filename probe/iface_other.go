//go:build !windows

package probe

// adapterInfo is Windows-only (adapter descriptions and types); elsewhere
// the interface name and flags are what identifies a tunnel.
func adapterInfo() map[int]adapterDesc { return nil }
