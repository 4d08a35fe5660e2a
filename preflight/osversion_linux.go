package preflight

import (
	"os"

	"github.com/ccp-preflight/ccp-preflight/internal/osrelease"
)

// osVersion is the distribution's PRETTY_NAME from /etc/os-release
// ("Debian GNU/Linux 12 (bookworm)"), else "linux/amd64".
func osVersion() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return osName()
	}
	if n := osrelease.PrettyName(string(b)); n != "" {
		return n + " (" + osName() + ")"
	}
	return osName()
}
