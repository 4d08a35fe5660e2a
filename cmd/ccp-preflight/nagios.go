package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/report"
)

// nagiosRequested reports whether args ask for --format nagios, before the
// flags are parsed: a Nagios plugin must answer UNKNOWN (3) even for a bad
// flag, not the usual exit code 2 (which Nagios reads as CRITICAL).
func nagiosRequested(args []string) bool {
	for i, a := range args {
		if a == "--" {
			break
		}
		switch a {
		case "--format=nagios", "-format=nagios":
			return true
		case "--format", "-format":
			if i+1 < len(args) && args[i+1] == "nagios" {
				return true
			}
		}
	}
	return false
}

// nagiosMode makes runCheck follow the Nagios plugin guidelines: it returns
// the stderr runCheck must use and a finish func to defer; finish, at
// runCheck's return, turns any exit that did not render a report — a
// usage, configuration or runtime error — into UNKNOWN (3) with the
// plugin's status line on stdout. A rendered report exits with
// report.NagiosCode (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
func nagiosMode(code *int, f *checkFlags, stdout, stderr io.Writer) (io.Writer, func()) {
	var errs bytes.Buffer
	w := io.MultiWriter(stderr, &errs)
	finish := func() {
		if f.rendered || *code == exitOK {
			return // a report (its own code) or --help
		}
		msg := strings.TrimSpace(strings.SplitN(errs.String(), "\n", 2)[0])
		msg = strings.TrimPrefix(msg, "ccp-preflight check: ")
		if msg == "" {
			msg = fmt.Sprintf("the check could not run (exit %d)", *code)
		}
		fmt.Fprintln(stdout, report.NagiosUnknownLine(msg))
		*code = report.NagiosUnknown
	}
	return w, finish
}
