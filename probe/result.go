// Package probe runs the network checks of a preflight, all concurrently
// under one deadline (Run, runner.go). A network failure is a Result with
// status fail, the phase that broke and a reason, never a Go error; errors
// are for misuse (bad configuration).
//
// One check, one file: the check with id "a.b-c" is declared and run in
// a_b_c.go (path.large-datagram in path_large_datagram.go), its test in
// a_b_c_test.go; a check too large for one file (media.relay) keeps its
// declaration and run there and splits the rest into media_relay_*.go.
// Helpers that several checks share live in files named for what they
// share (udp.go, dial.go, budget.go, remedy.go). A new check is its file,
// its test, one line in Registry (registry.go) and its docs/CHECKS.md entry.
//
// The result contract itself (Result, Status, phases, Kind) lives in the
// leaf package result; the names here are aliases so probe code reads short.
package probe

import "github.com/ccp-preflight/ccp-preflight/result"

// Aliases of the result contract.
type (
	// Status is result.Status.
	Status = result.Status
	// Result is result.Result.
	Result = result.Result
	// Sample is result.Sample.
	Sample = result.Sample
)

// The statuses (result.Pass …).
const (
	Pass = result.Pass
	Warn = result.Warn
	Fail = result.Fail
	Skip = result.Skip
)

// Verdict is result.Verdict.
func Verdict(results []Result) Status { return result.Verdict(results) }
