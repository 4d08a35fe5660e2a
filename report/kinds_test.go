package report

// The fixtures use the real check ids; importing probe (in tests only, so
// the report package itself never links it) declares their kinds.
import _ "github.com/ccp-preflight/ccp-preflight/probe"
