package browsercheck

import "os/exec"

// ownGroup: on Windows the browser is ended as one process (Kill).
func ownGroup(*exec.Cmd) {}

// killGroup ends the browser process Open started.
func killGroup(c *exec.Cmd) { _ = c.Process.Kill() }
