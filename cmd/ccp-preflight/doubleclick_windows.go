package main

import (
	"syscall"
	"unsafe"
)

var procGetConsoleProcessList = syscall.NewLazyDLL("kernel32.dll").NewProc("GetConsoleProcessList")

// startedByDoubleClick reports whether Explorer started this program in a
// console of its own: then this process is the console's only one (a
// shell such as cmd or PowerShell would be attached too), and the window
// would close the moment the program exits.
func startedByDoubleClick() bool {
	if procGetConsoleProcessList.Find() != nil {
		return false
	}
	var pids [2]uint32
	n, _, _ := procGetConsoleProcessList.Call(uintptr(unsafe.Pointer(&pids[0])), uintptr(len(pids)))
	return n == 1
}
