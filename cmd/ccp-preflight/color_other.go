//go:build !windows

package main

import "os"

// enableVT is a no-op outside Windows: terminals there show ANSI colour.
func enableVT(*os.File) bool { return true }
