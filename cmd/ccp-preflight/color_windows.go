package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// enableVT turns on virtual-terminal processing for f's console (Windows
// 10 and later), so that ANSI colour shows as colour; false when the
// console cannot (colour is then left out).
func enableVT(f *os.File) bool {
	h := windows.Handle(f.Fd())
	var mode uint32
	err := windows.GetConsoleMode(h, &mode)
	want, changed := vtMode(mode)
	var setErr error
	if err == nil && changed {
		setErr = windows.SetConsoleMode(h, want)
	}
	return colorAfterVT(err, changed, setErr)
}
