//go:build !linux && !windows

package preflight

// osVersion is the OS family and architecture ("darwin/arm64").
func osVersion() string { return osName() }
