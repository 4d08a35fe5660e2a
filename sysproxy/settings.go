package sysproxy

import (
	"bufio"
	"bytes"
	"context"
	"net/url"
	"os"
	"strings"
)

// Settings are a computer's proxy settings as its OS keeps them, in one
// shape for every OS. A browser applies them in this order: auto-detect
// (WPAD), then the auto-config (PAC) URL, then the manual proxy with its
// bypass list; when an automatic step fails, the next one applies.
type Settings struct {
	// From names where the settings are kept, for people: "Windows Internet
	// Settings", "macOS proxy settings", "GNOME proxy settings", "the
	// environment".
	From string
	// AutoDetect is "automatically detect settings": WPAD.
	AutoDetect bool
	// PACURL is the auto-config script's URL ("" when none).
	PACURL string
	// Proxy is the manual proxy for https URLs (nil when none).
	Proxy *url.URL
	// ProxyFrom names the manual setting ("HTTPS_PROXY", "ALL_PROXY",
	// "the manual proxy"); "" means "the manual proxy".
	ProxyFrom string
	// Bypass lists the hosts that go DIRECT past the manual proxy.
	Bypass Bypass
	// BypassFrom names the bypass list ("NO_PROXY"; "" means "the bypass
	// list").
	BypassFrom string
	// Problems are settings that could not be read or understood, one line
	// each (a manual proxy that is not host:port): they are reported, and
	// the rest of the settings still apply.
	Problems []string

	// auto, when set, resolves AutoDetect and PACURL for a URL the way the
	// OS does (Windows: WinHTTP), instead of this package's WPAD and PAC.
	auto autoResolver
}

// autoResolver is an OS's own resolution of automatic settings for one
// URL: the hops, and the PAC URL it used ("" when unknown).
type autoResolver func(ctx context.Context, rawURL string, autoDetect bool, pacURL string) (hops []Hop, usedPAC string, err error)

// Empty reports whether the settings configure nothing (DIRECT).
func (s Settings) Empty() bool {
	return !s.AutoDetect && s.PACURL == "" && s.Proxy == nil
}

// Env looks up an environment variable, as os.LookupEnv (tests give
// their own): the bool tells a variable set to "" from one not set.
type Env func(name string) (string, bool)

// getenv returns the first of names that is set (non-empty) and its name.
func (e Env) getenv(names ...string) (string, string) {
	for _, n := range names {
		if v, _ := e(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// MapEnv is an Env over a map.
func MapEnv(m map[string]string) Env {
	return func(n string) (string, bool) { v, ok := m[n]; return v, ok }
}

// FromEnv reads the proxy environment variables the way Chrome and
// Chromium read them on Linux (and curl, Go and most command-line tools
// everywhere): HTTPS_PROXY (or https_proxy), else ALL_PROXY, for https
// URLs; NO_PROXY as comma-separated host suffixes, addresses and prefixes
// ("*" for every host); and auto_proxy, Chrome's PAC URL variable (set but
// empty means auto-detect: WPAD). A nil env is os.LookupEnv.
func FromEnv(env Env) Settings {
	if env == nil {
		env = os.LookupEnv
	}
	s := Settings{From: "the environment"}
	if v, ok := env("auto_proxy"); ok {
		if strings.TrimSpace(v) == "" {
			s.AutoDetect = true
		} else {
			s.PACURL = strings.TrimSpace(v)
		}
	}
	if v, name := env.getenv("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"); v != "" {
		u, err := ParseProxyURL(v)
		if err != nil {
			s.Problems = append(s.Problems, name+": "+err.Error())
		} else {
			s.Proxy, s.ProxyFrom = u, strings.ToUpper(name)
		}
	}
	if v, name := env.getenv("NO_PROXY", "no_proxy"); v != "" {
		s.Bypass = Bypass{Rules: strings.Split(v, ","), Suffix: true}
		s.BypassFrom = strings.ToUpper(name)
	}
	return s
}

// ParseResolvConf returns the DNS search domains of a resolv.conf: the
// last "search" line's domains, else the "domain" line's. WPAD looks for
// wpad.DOMAIN in each.
func ParseResolvConf(b []byte) []string {
	var search, domain []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "search":
			search = f[1:]
		case "domain":
			domain = f[1:2]
		}
	}
	if len(search) == 0 {
		search = domain
	}
	var out []string
	for _, d := range search {
		d = strings.ToLower(strings.Trim(d, "."))
		if d != "" && !strings.ContainsAny(d, " /\\") {
			out = append(out, d)
		}
	}
	return out
}
