//go:build linux

package sysproxy

import (
	"context"
	"os"
)

// ReadSystem reads this computer's proxy settings as Chrome does on Linux:
// GNOME's (gsettings) on a GNOME-family desktop, else the environment
// (HTTPS_PROXY, ALL_PROXY, NO_PROXY, auto_proxy).
func ReadSystem(ctx context.Context) Settings {
	return readLinux(ctx, os.LookupEnv, runCmd)
}

// SearchDomains are the DNS search domains of /etc/resolv.conf.
func SearchDomains() []string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	return ParseResolvConf(b)
}
