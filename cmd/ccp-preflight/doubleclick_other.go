//go:build !windows

package main

// startedByDoubleClick is Windows-only: elsewhere a program is started
// from a shell, and no arguments prints the usage.
func startedByDoubleClick() bool { return false }
