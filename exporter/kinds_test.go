package exporter

// The tests run real checks; importing probe in tests only declares their
// kinds, as the binary does by linking probe.
import _ "github.com/ccp-preflight/ccp-preflight/probe"
