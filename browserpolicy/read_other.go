//go:build !linux && !windows && !darwin

package browserpolicy

// Read returns nothing: this OS has no managed browser policies this tool
// knows.
func Read() []Browser { return nil }
