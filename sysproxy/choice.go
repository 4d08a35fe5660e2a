// Package sysproxy finds the proxy a browser on this computer would use for
// a URL: the system's proxy settings (Windows Internet Settings through
// WinHTTP, macOS's SystemConfiguration through scutil, GNOME's settings or
// the environment on Linux), a PAC file evaluated in-process (goja, with a
// time and a memory limit), and WPAD discovery by DNS. The answer for each
// URL is a Choice: the proxies to try in order (a PAC may return several,
// "PROXY a; PROXY b; DIRECT"), and where that came from, so that a report
// can say "through proxy.corp:3128 (from the PAC http://pac.corp/proxy.pac)".
//
// A failed configuration is data, not an error: a PAC that does not parse,
// loops, allocates without end or returns garbage gives a DIRECT Choice with
// a one-line Warning naming the PAC, which is what a browser does.
package sysproxy

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/internal/redact"
)

// Hop is one way out for a connection: a proxy, or DIRECT.
type Hop struct {
	// Proxy is the proxy's URL: http://host:port (PROXY), https://host:port
	// (HTTPS) or socks5://host:port (SOCKS5); nil means DIRECT. It may carry
	// user information (an explicit proxy URL with credentials): print it
	// only through String.
	Proxy *url.URL
}

// Direct is the DIRECT hop.
var Direct = Hop{}

// IsDirect reports whether h is DIRECT.
func (h Hop) IsDirect() bool { return h.Proxy == nil }

// String names the hop without credentials: "DIRECT", or the proxy's URL
// with any user name and password removed.
func (h Hop) String() string {
	if h.Proxy == nil {
		return "DIRECT"
	}
	return Redact(h.Proxy)
}

// Redact prints u without its user information (user name and password):
// redact.Parsed, for sysproxy's callers.
func Redact(u *url.URL) string { return redact.Parsed(u) }

// Choice is the way a browser's configuration sends a connection to one
// URL: the hops to try in order, and where the choice came from.
type Choice struct {
	// Hops are tried in order, like a browser: the next one only when the
	// one before cannot be reached. Never empty (DIRECT when nothing applies).
	Hops []Hop
	// Source names where the choice came from, for people: "the config
	// file", "HTTPS_PROXY", "NO_PROXY", "the PAC file http://…", "WPAD
	// (http://wpad.corp/wpad.dat)", "Windows Internet Settings (manual
	// proxy)", "GNOME proxy settings", "macOS proxy settings", "none", "lab".
	Source string
	// Origin is Source's kind, stable for machines: "config", "pac",
	// "wpad", "manual", "env", "bypass", "none", "lab".
	Origin string
	// PAC is the PAC file or URL that was evaluated ("" when none).
	PAC string
	// Warning, when not empty, is one line saying what went wrong with the
	// configuration (a PAC that could not be fetched or run, or returned
	// garbage) and that the choice fell back (to DIRECT, or to the manual
	// settings) as a browser does.
	Warning string
}

// Proxied reports whether the first hop is a proxy.
func (c Choice) Proxied() bool { return len(c.Hops) > 0 && !c.Hops[0].IsDirect() }

// String is the hops as a PAC writes them ("PROXY p:3128; DIRECT"),
// without credentials.
func (c Choice) String() string {
	if len(c.Hops) == 0 {
		return "DIRECT"
	}
	parts := make([]string, len(c.Hops))
	for i, h := range c.Hops {
		parts[i] = h.pacString()
	}
	return strings.Join(parts, "; ")
}

func (h Hop) pacString() string {
	if h.Proxy == nil {
		return "DIRECT"
	}
	kw := "PROXY"
	switch h.Proxy.Scheme {
	case "https":
		kw = "HTTPS"
	case "socks5":
		kw = "SOCKS5"
	case "socks4":
		kw = "SOCKS"
	}
	return kw + " " + h.Proxy.Host
}

// direct is the DIRECT choice from source.
func direct(origin, source string) Choice {
	return Choice{Hops: []Hop{Direct}, Origin: origin, Source: source}
}

// maxHops bounds a PAC's list: more than this is garbage, not a config.
const maxHops = 16

// ParsePACResult parses what FindProxyForURL returned ("PROXY a:8080;
// HTTPS b:443; SOCKS5 c:1080; DIRECT") into hops, in order. Keywords are
// case-insensitive; empty entries are ignored. A PROXY or HTTPS entry without
// a port gets 80 or 443, as in browsers. It is an error (the browser
// falls back to DIRECT) when the string holds no valid entry, an unknown
// keyword, or a host:port that is not one.
func ParsePACResult(s string) ([]Hop, error) {
	var hops []Hop
	for _, part := range strings.Split(s, ";") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		if len(hops) == maxHops {
			return nil, fmt.Errorf("more than %d entries", maxHops)
		}
		kw := strings.ToUpper(f[0])
		if kw == "DIRECT" {
			if len(f) != 1 {
				return nil, fmt.Errorf("%q: DIRECT takes no address", clip(part))
			}
			hops = append(hops, Direct)
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%q: want KEYWORD host:port", clip(part))
		}
		var scheme, defPort string
		switch kw {
		case "PROXY", "HTTP":
			scheme, defPort = "http", "80"
		case "HTTPS":
			scheme, defPort = "https", "443"
		case "SOCKS5":
			scheme, defPort = "socks5", "1080"
		case "SOCKS", "SOCKS4":
			scheme, defPort = "socks4", "1080"
		default:
			return nil, fmt.Errorf("%q: unknown keyword %q (want PROXY, HTTPS, SOCKS, SOCKS5 or DIRECT)", clip(part), clip(f[0]))
		}
		hp, err := hostPort(f[1], defPort)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", clip(part), err)
		}
		hops = append(hops, Hop{Proxy: &url.URL{Scheme: scheme, Host: hp}})
	}
	if len(hops) == 0 {
		return nil, fmt.Errorf("%q holds no proxy and no DIRECT", clip(s))
	}
	return hops, nil
}

// hostPort checks host[:port] and returns host:port, with defPort when the
// port is missing.
func hostPort(s, defPort string) (string, error) {
	host, port := s, defPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
		host = s // a bare IPv6 literal
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1] // a bracketed IPv6 literal without a port
	}
	if host == "" || strings.ContainsAny(host, "/@?#\\ \t[]") {
		return "", fmt.Errorf("bad host %q", clip(host))
	}
	// Digits only: Atoi also takes "+1", which no URL parser accepts as a
	// port (FuzzParsePACResult found "PROXY 0:+1").
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
		return "", fmt.Errorf("bad port %q", clip(port))
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// ParseProxyURL parses a proxy as settings and environment variables write
// it: "host:port", "http://host:port", "https://host:port",
// "socks5://host:port" (a user name and password in the URL are kept). A
// missing port is 80 (http), 443 (https) or 1080 (socks). The error never
// quotes the input's user information.
func ParseProxyURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty proxy")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("proxy %q: not a URL", redact.Proxy(s))
	}
	def := ""
	switch u.Scheme {
	case "http":
		def = "80"
	case "https":
		def = "443"
	case "socks5", "socks5h":
		u.Scheme, def = "socks5", "1080"
	case "socks", "socks4", "socks4a":
		u.Scheme, def = "socks4", "1080"
	default:
		return nil, fmt.Errorf("proxy %q: scheme %q (want http, https or socks5)", Redact(u), u.Scheme)
	}
	hp, err := hostPort(u.Host, def)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("proxy %q: want %s://host:port", Redact(u), u.Scheme)
	}
	out := &url.URL{Scheme: u.Scheme, Host: hp, User: u.User}
	return out, nil
}

// clip shortens s for an error message (a PAC can return anything).
func clip(s string) string {
	const max = 80
	s = strings.TrimSpace(s)
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
