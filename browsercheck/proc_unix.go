//go:build !windows

package browsercheck

import (
	"os/exec"
	"syscall"
	"time"
)

// ownGroup starts the browser in a process group of its own, so that
// killGroup ends its helper processes too (Chromium's zygote, renderers).
func ownGroup(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup ends the group Open started, by its id: SIGTERM, then SIGKILL
// after two seconds.
func killGroup(c *exec.Cmd) {
	pgid := c.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			if syscall.Kill(-pgid, 0) != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	<-done
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
