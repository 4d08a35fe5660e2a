package main

import (
	"fmt"
	"io"
)

// STUB: replaced by the ranges work.
func runRanges(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ccp-preflight ranges: not implemented yet")
	return exitInput
}
