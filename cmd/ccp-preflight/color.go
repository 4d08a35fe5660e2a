package main

import (
	"io"
	"os"
)

// colorTerminal reports whether ANSI colour may be written to w: w is a
// terminal that shows it. On Windows that takes enabling the console's
// virtual-terminal processing first (enableVT); a console where that fails
// (an old conhost) gets no colour rather than escape codes as text.
func colorTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(w) {
		return false
	}
	return enableVT(f)
}

// vtMode is a console mode with virtual-terminal processing (ANSI escape
// codes) turned on, and whether it changed.
func vtMode(mode uint32) (uint32, bool) {
	const enableVirtualTerminalProcessing = 0x0004 // ENABLE_VIRTUAL_TERMINAL_PROCESSING
	if mode&enableVirtualTerminalProcessing != 0 {
		return mode, false
	}
	return mode | enableVirtualTerminalProcessing, true
}

// colorAfterVT decides colour from the console calls' outcome: the mode
// could be read, and set when it had to change.
func colorAfterVT(getErr error, changed bool, setErr error) bool {
	if getErr != nil {
		return false
	}
	return !changed || setErr == nil
}
