package main

import (
	"fmt"
	"io"
)

// STUB: replaced by the exporter work.
func runServe(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ccp-preflight serve: not implemented yet")
	return exitInput
}
