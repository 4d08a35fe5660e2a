//go:build !linux && !darwin && !windows

package sysproxy

import (
	"context"
	"os"
)

// ReadSystem reads the environment's proxy settings (HTTPS_PROXY,
// ALL_PROXY, NO_PROXY, auto_proxy): this OS has no other system store this
// tool knows.
func ReadSystem(context.Context) Settings { return FromEnv(os.LookupEnv) }

// SearchDomains are the DNS search domains of /etc/resolv.conf.
func SearchDomains() []string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	return ParseResolvConf(b)
}
