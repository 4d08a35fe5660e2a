//go:build darwin

package sysproxy

import (
	"context"
	"os"
)

// ReadSystem reads macOS's proxy settings (SystemConfiguration, through
// `scutil --proxy`): auto-discovery, the PAC URL, the HTTPS (or SOCKS)
// proxy and the exceptions. If scutil cannot be run, the environment.
func ReadSystem(ctx context.Context) Settings {
	out, err := runCmd(ctx, "/usr/sbin/scutil", "--proxy")
	if err != nil {
		s := FromEnv(os.LookupEnv)
		s.Problems = append(s.Problems, "scutil --proxy could not be run ("+err.Error()+"): the environment's proxy settings are used")
		return s
	}
	return ParseScutil(string(out))
}

// SearchDomains are the DNS search domains of /etc/resolv.conf (which
// macOS writes from its DNS configuration).
func SearchDomains() []string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	return ParseResolvConf(b)
}
