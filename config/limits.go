package config

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
)

// Target caps: what a real run could ever need, with room to spare. A
// run's checks run concurrently under one deadline, so thousands of
// targets cannot fit in it; a list beyond these is an input error (exit
// 2) rather than a run that blows its deadline.
const (
	// MaxICEServers bounds the ICE servers entries: the CCP hands out 1–3.
	MaxICEServers = 8
	// MaxICEURLs bounds the turn:/turns: URLs of all entries together
	// (the CCP's entries carry one or two each).
	MaxICEURLs = 16
	// MaxHTTPSEndpoints bounds https_endpoints (the catalog has 6 per
	// region and instance).
	MaxHTTPSEndpoints = 32
	// MaxTURNServers bounds turn_servers (the catalog has up to 5 per
	// region).
	MaxTURNServers = 16
)

// Threshold bounds: a limit outside them (or NaN, ±Inf) would make every
// check pass or fail whatever was measured.
const (
	// MaxDelayMS bounds rtt_ms and jitter_ms limits: 10 s is far beyond
	// any call (ITU-T G.114: 400 ms one way is already unusable).
	MaxDelayMS = 10000
)

// checkLimit validates one threshold: finite numbers, 0 ≤ warn ≤ fail ≤
// hi for the delays and loss (hi 1 for a ratio), 1 ≤ fail ≤ warn ≤ 5 for
// MOS.
func checkLimit(name string, warn, fail float64) error {
	if !finite(warn) || !finite(fail) {
		return inputErr("config thresholds.%s: warn %v fail %v: want finite numbers", name, warn, fail)
	}
	switch name {
	case "mos":
		if !(1 <= fail && fail <= warn && warn <= 5) {
			return inputErr("config thresholds.mos: want 1 ≤ fail ≤ warn ≤ 5, got warn %v fail %v", warn, fail)
		}
		return nil
	case "loss_ratio":
		if !(0 <= warn && warn <= fail && fail <= 1) {
			return inputErr("config thresholds.loss_ratio: want 0 ≤ warn ≤ fail ≤ 1, got warn %v fail %v", warn, fail)
		}
		return nil
	}
	if !(0 <= warn && warn <= fail && fail <= MaxDelayMS) {
		return inputErr("config thresholds.%s: want 0 ≤ warn ≤ fail ≤ %d, got warn %v fail %v", name, MaxDelayMS, warn, fail)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// validHost reports whether h is an IP address (without brackets) or a
// DNS host name: labels of letters, digits, '-' and '_' (1–63 bytes each,
// 253 in all, a final dot allowed).
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return false
			}
		}
	}
	return true
}

// splitHost splits "host", "host:port", "[v6]" or "[v6]:port" (port 0
// when absent) and checks the host (validHost; an IPv6 address needs its
// brackets when a port follows) and the port (1–65535). The error says
// what is wrong in a few words.
func splitHost(s string) (host string, port int, err error) {
	rest := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("unbalanced '[': want [IPv6]:port")
		}
		host, rest = s[1:end], s[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return "", 0, fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if rest == "" {
			return host, 0, nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", 0, fmt.Errorf("unexpected %q after ']'", rest)
		}
		port, err = parsePort(rest[1:])
		return host, port, err
	}
	if strings.ContainsAny(s, "[]") {
		return "", 0, fmt.Errorf("unbalanced ']'")
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
		return s, 0, nil // a bare IPv6 address, no port
	}
	if strings.Count(s, ":") > 1 {
		return "", 0, fmt.Errorf("not an IP address or host:port (an IPv6 address with a port needs brackets: [IPv6]:port)")
	}
	host = s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host = s[:i]
		if port, err = parsePort(s[i+1:]); err != nil {
			return "", 0, err
		}
	}
	if host == "" {
		return "", 0, fmt.Errorf("no host")
	}
	if !validHost(host) {
		if strings.Contains(host, ":") {
			return "", 0, fmt.Errorf("an IPv6 address with a port needs brackets: [IPv6]:port")
		}
		return "", 0, fmt.Errorf("%q is not a host name or IP address", host)
	}
	return host, port, nil
}

// parsePort parses a decimal port 1–65535 (no sign, no leading '+').
func parsePort(p string) (int, error) {
	n := 0
	if p == "" || len(p) > 5 {
		return 0, fmt.Errorf("bad port %q", p)
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad port %q", p)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", p)
	}
	return n, nil
}
