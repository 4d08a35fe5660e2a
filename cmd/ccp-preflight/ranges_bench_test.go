package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildBinary builds ccp-preflight once per benchmark into a temp dir.
func buildBinary(b *testing.B) string {
	b.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("go tool not in PATH: cannot build the binary to time")
	}
	bin := filepath.Join(b.TempDir(), "ccp-preflight")
	if out, err := exec.Command(goBin, "build", "-trimpath", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runProcess execs bin with args b.N times (exit code 0 or 1 accepted)
// with an empty user cache, so the embedded copy is what loads.
func runProcess(b *testing.B, bin string, args ...string) {
	b.Helper()
	env := append(os.Environ(), "XDG_CACHE_HOME="+b.TempDir())
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
				b.Fatalf("%s %v: %v", bin, args, err)
			}
		}
	}
}

// BenchmarkProcessRangesLookup times `ccp-preflight ranges lookup` as a
// whole process: start, load and validate the embedded file, build the
// index, answer (target ≤ 60 ms on the project's 2-core machine).
func BenchmarkProcessRangesLookup(b *testing.B) {
	runProcess(b, buildBinary(b), "ranges", "lookup", "15.193.6.10", "2600:f0f2:7101::1")
}

// BenchmarkProcessRangesList is the list the jq comparison below does.
func BenchmarkProcessRangesList(b *testing.B) {
	runProcess(b, buildBinary(b), "ranges", "list", "--service", "AMAZON_CONNECT", "--region", "us-east-1")
}

// BenchmarkProcessJQFilter is the by-hand way: jq selecting the same
// entries from the same file (GLOBAL and us-east-1 AMAZON_CONNECT, IPv4).
func BenchmarkProcessJQFilter(b *testing.B) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		b.Skip("jq not installed (apt-get install jq)")
	}
	runProcess(b, jq, "-r", `.prefixes[] | select(.service == "AMAZON_CONNECT" and (.region == "us-east-1" or .region == "GLOBAL")) | .ip_prefix`, "../../ip-ranges.json")
}
