// Command ccp-preflight tells whether a network is ready for Amazon Connect
// softphone calls and, if not, exactly what to change. This package owns
// flags, subcommands and exit codes; the logic lives in the packages.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/internal/redact"
)

// Exit codes (README.md "Exit codes").
const (
	exitOK    = 0 // every check passed (warnings allowed unless --fail-on warn)
	exitFail  = 1 // at least one check failed
	exitInput = 2 // usage, configuration or input error
	// exitIncomplete: the run is no verdict — interrupted before its end,
	// or no check of the network ran (report.OutcomeOf).
	exitIncomplete = 3
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// Version returns the build's version: the -ldflags value, else the module
// version, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

const usage = `ccp-preflight tells whether this network is ready for Amazon Connect softphone
calls (the CCP), and if not, exactly what to change.

Usage:
  ccp-preflight check  --region R [--instance ALIAS|URL] [flags]   test this network
  ccp-preflight ranges list|lookup|export|diff|update [flags]      AWS's published IP ranges
  ccp-preflight serve  --listen ADDR --interval D [check flags]     Prometheus exporter
  ccp-preflight version

Examples:
  ccp-preflight check --region us-east-1 --instance myalias
  ccp-preflight check --lab                       # self-test against local servers
  ccp-preflight ranges lookup 15.193.6.10

Run 'ccp-preflight COMMAND --help' for a command's flags. On Windows, a
double-click asks for the region and instance, then runs the check.
Exit codes: 0 ready, 1 a check failed, 2 usage or input error, 3 incomplete
(interrupted, or no check of the network ran).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: testable end to end.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		if startedByDoubleClick() {
			return runGuided(os.Stdin, stdout, stderr)
		}
		fmt.Fprint(stderr, usage)
		return exitInput
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return runCheck(rest, stdout, stderr)
	case "ranges":
		return runRanges(rest, stdout, stderr)
	case "serve":
		return runServe(rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "ccp-preflight %s\n", Version())
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "ccp-preflight: unknown command %q\n\n%s", cmd, usage)
	return exitInput
}

// newFlagSet returns a FlagSet that prints help (with examples) to stdout
// on --help and reports errors in one line on stderr.
func newFlagSet(name, help string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprint(stdout, help)
		fmt.Fprintln(stdout, "\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args; it returns (exit code, true) when the caller
// must stop: 0 after --help, 2 after a bad flag (one line on stderr).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	// flag calls Usage on every parse error too; print help only when
	// asked, so a bad flag stays one line on stderr.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return exitOK, true
	}
	if err != nil {
		fmt.Fprintf(stderr, "ccp-preflight %s: %v (see --help)\n", fs.Name(), err)
		return exitInput, true
	}
	return 0, false
}

// fail prints err in one line and returns its exit code: 2 for input errors.
// A URL's user:password@ in the message is redacted (the last guard).
func fail(stderr io.Writer, cmd string, err error) int {
	msg := redact.Text(strings.ReplaceAll(err.Error(), "\n", " "))
	fmt.Fprintf(stderr, "ccp-preflight %s: %s\n", cmd, msg)
	if config.IsInput(err) {
		return exitInput
	}
	return exitFail
}
