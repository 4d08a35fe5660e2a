package sysproxy

import (
	"net/netip"
	"strconv"
	"strings"
)

// Bypass is a list of hosts that go DIRECT although a manual proxy is set:
// Windows' "Do not use proxy server for addresses beginning with" list,
// macOS's ExceptionsList, GNOME's ignore-hosts. Each rule is one of
//
//	<local>              a plain host name (no dot), as Windows means it
//	*.corp.example       a host-name pattern with * and ? (case-insensitive)
//	.corp.example        the same as *.corp.example
//	10.*                 a pattern matched against the address as written
//	10.0.0.0/8, 169.254/16, fe80::/10   a prefix (macOS abbreviates)
//	host:port            any of the above, for that port only
//
// optionally with a scheme ("https://host"), which is ignored. Suffix makes
// a plain "corp.example" match its sub-domains too (the environment's
// NO_PROXY and GNOME's ignore-hosts mean it so).
type Bypass struct {
	Rules  []string
	Suffix bool
}

// Match reports whether host (a name or an IP literal) on port bypasses
// the proxy.
func (b Bypass) Match(host string, port int) bool {
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	ip, ipErr := netip.ParseAddr(host)
	for _, r := range b.Rules {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" {
			continue
		}
		if r == "<local>" {
			if ipErr != nil && !strings.Contains(host, ".") {
				return true
			}
			continue
		}
		if _, rest, ok := strings.Cut(r, "://"); ok {
			r = rest
		}
		// A prefix (checked before the port is split off: "fe80::/10").
		if strings.Contains(r, "/") {
			if p, ok := parsePrefix(r); ok && ipErr == nil && p.Contains(ip.Unmap()) {
				return true
			}
			continue
		}
		rhost, rport := r, 0
		if i := strings.LastIndexByte(r, ':'); i >= 0 && strings.Count(r, ":") == 1 {
			if n, err := strconv.Atoi(r[i+1:]); err == nil {
				rhost, rport = r[:i], n
			}
		}
		if rport != 0 && rport != port {
			continue
		}
		rhost = strings.Trim(rhost, "[]")
		if strings.HasPrefix(rhost, ".") {
			rhost = "*" + rhost
		}
		if Glob(rhost, host) {
			return true
		}
		if b.Suffix && !strings.ContainsAny(rhost, "*?") && ipErr != nil && strings.HasSuffix(host, "."+rhost) {
			return true
		}
	}
	return false
}

// parsePrefix parses a CIDR prefix, accepting macOS's abbreviated IPv4
// form ("169.254/16" for 169.254.0.0/16).
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	addr, bits, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(addr, ":") {
		return netip.Prefix{}, false
	}
	parts := strings.Split(addr, ".")
	if len(parts) > 4 {
		return netip.Prefix{}, false
	}
	for len(parts) < 4 {
		parts = append(parts, "0")
	}
	p, err := netip.ParsePrefix(strings.Join(parts, ".") + "/" + bits)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

// Glob matches s against a shell-style pattern where * is any run of
// characters and ? one character, case-insensitively (the bypass lists).
// It runs in time proportional to len(pattern)·len(s) at worst, so a
// hostile pattern cannot make it run away.
func Glob(pattern, s string) bool {
	return globMatch(strings.ToLower(pattern), strings.ToLower(s))
}

// globMatch is Glob, case-sensitive (PAC's shExpMatch, as in browsers).
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
