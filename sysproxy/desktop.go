package sysproxy

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Readers of the settings each OS keeps, in code that runs on every OS so
// that its decisions are table-tested on Linux: GNOME's gsettings
// (ParseGSettings), macOS's `scutil --proxy` (ParseScutil) and Windows'
// Internet Settings (FromIEConfig). The *_windows.go, *_darwin.go and
// *_linux.go files only fetch the raw settings.

// runTimeout bounds one settings command (gsettings, scutil).
const runTimeout = 2 * time.Second

// runner runs a command and returns its standard output.
type runner func(ctx context.Context, name string, args ...string) ([]byte, error)

func runCmd(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).Output()
}

// gnomeDesktops are the XDG_CURRENT_DESKTOP names whose browsers read
// GNOME's proxy settings (as Chrome decides on Linux).
var gnomeDesktops = []string{"gnome", "unity", "cinnamon", "x-cinnamon", "pantheon", "budgie", "deepin", "ukui"}

// readLinux is Linux's settings, as Chrome reads them: GNOME's when the
// desktop is one of GNOME's family and gsettings answers, else the
// environment.
func readLinux(ctx context.Context, env Env, run runner) Settings {
	desk, _ := env("XDG_CURRENT_DESKTOP")
	gnome := false
	for _, d := range strings.Split(strings.ToLower(desk), ":") {
		for _, g := range gnomeDesktops {
			gnome = gnome || d == g
		}
	}
	if gnome {
		if out, err := run(ctx, "gsettings", "list-recursively", "org.gnome.system.proxy"); err == nil {
			return ParseGSettings(string(out))
		}
	}
	return FromEnv(env)
}

// ParseGSettings turns `gsettings list-recursively org.gnome.system.proxy`
// into Settings: mode none, auto (autoconfig-url, or WPAD when it is
// empty) or manual (the https proxy, else the http one when
// use-same-proxy is set, else SOCKS), and ignore-hosts.
func ParseGSettings(out string) Settings {
	kv := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(strings.TrimSpace(line), " ", 3)
		if len(f) == 3 {
			kv[strings.TrimPrefix(f[0], "org.gnome.system.proxy")+" "+f[1]] = strings.TrimSpace(f[2])
		}
	}
	s := Settings{From: "GNOME proxy settings"}
	switch gvString(kv[" mode"]) {
	case "auto":
		if u := gvString(kv[" autoconfig-url"]); u != "" {
			s.PACURL = u
		} else {
			s.AutoDetect = true
		}
	case "manual":
		proxy := func(scheme, section string) bool {
			host := gvString(kv[section+" host"])
			port, _ := strconv.Atoi(kv[section+" port"])
			if host == "" || port == 0 {
				return false
			}
			u, err := ParseProxyURL(fmt.Sprintf("%s://%s:%d", scheme, strings.Trim(host, "[]"), port))
			if err != nil {
				s.Problems = append(s.Problems, fmt.Sprintf("GNOME's %s proxy: %v", strings.TrimPrefix(section, "."), err))
				return false
			}
			s.Proxy, s.ProxyFrom = u, "the "+strings.TrimPrefix(section, ".")+" proxy"
			return true
		}
		if !proxy("http", ".https") && !(kv[" use-same-proxy"] == "true" && proxy("http", ".http")) {
			proxy("socks5", ".socks")
		}
		s.Bypass = Bypass{Rules: gvStrings(kv[" ignore-hosts"])}
		s.BypassFrom = "ignore-hosts"
	}
	return s
}

// gvString reads a GVariant string as gsettings prints it ('…').
func gvString(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return strings.ReplaceAll(v, `\'`, `'`)
}

// gvStrings reads a GVariant string array (['a', 'b'] or @as []).
func gvStrings(v string) []string {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "@as"))
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = gvString(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ParseScutil turns `scutil --proxy` (macOS's SystemConfiguration proxy
// dictionary) into Settings: ProxyAutoDiscoveryEnable (WPAD),
// ProxyAutoConfigEnable with ProxyAutoConfigURLString, HTTPSEnable with
// HTTPSProxy and HTTPSPort (else SOCKS), ExceptionsList and
// ExcludeSimpleHostnames.
func ParseScutil(out string) Settings {
	kv := map[string]string{}
	var exceptions []string
	inList := false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if inList {
			if line == "}" {
				inList = false
				continue
			}
			if _, v, ok := strings.Cut(line, " : "); ok {
				exceptions = append(exceptions, strings.TrimSpace(v))
			}
			continue
		}
		k, v, ok := strings.Cut(line, " : ")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "ExceptionsList" && strings.HasPrefix(v, "<array>") {
			inList = true
			continue
		}
		kv[k] = v
	}
	s := Settings{From: "macOS proxy settings"}
	s.AutoDetect = kv["ProxyAutoDiscoveryEnable"] == "1"
	if kv["ProxyAutoConfigEnable"] == "1" {
		s.PACURL = kv["ProxyAutoConfigURLString"]
	}
	manual := func(prefix, scheme string) bool {
		if kv[prefix+"Enable"] != "1" || kv[prefix+"Proxy"] == "" {
			return false
		}
		port := kv[prefix+"Port"]
		if port == "" {
			port = map[string]string{"http": "80", "socks5": "1080"}[scheme]
		}
		u, err := ParseProxyURL(scheme + "://" + net6(kv[prefix+"Proxy"]) + ":" + port)
		if err != nil {
			s.Problems = append(s.Problems, "macOS's "+prefix+" proxy: "+err.Error())
			return false
		}
		s.Proxy, s.ProxyFrom = u, "the "+prefix+" proxy"
		return true
	}
	if !manual("HTTPS", "http") {
		manual("SOCKS", "socks5")
	}
	if kv["ExcludeSimpleHostnames"] == "1" {
		exceptions = append(exceptions, "<local>")
	}
	s.Bypass = Bypass{Rules: exceptions}
	s.BypassFrom = "the proxy exceptions"
	return s
}

// net6 brackets a bare IPv6 literal for host:port.
func net6(h string) string {
	if strings.Count(h, ":") > 1 && !strings.HasPrefix(h, "[") {
		return "[" + h + "]"
	}
	return h
}

// FromIEConfig turns the current user's Internet Settings (WinHTTP's
// WINHTTP_CURRENT_USER_IE_PROXY_CONFIG: "Automatically detect settings",
// "Use automatic configuration script", the manual proxy and its bypass
// list) into Settings. The manual proxy is "host:port" for every scheme
// or "http=h:p;https=h:p;socks=h:p"; an https URL uses the https= entry,
// else the one without a scheme, else socks= (SOCKS4, as browsers read
// it). The bypass list is separated by ";", "," or spaces and may hold
// "<local>".
func FromIEConfig(autoDetect bool, autoConfigURL, proxy, bypass string) Settings {
	s := Settings{From: "Windows Internet Settings", AutoDetect: autoDetect, PACURL: strings.TrimSpace(autoConfigURL)}
	if p := strings.TrimSpace(proxy); p != "" {
		u, err := WinProxyFor(p, "https")
		switch {
		case err != nil:
			s.Problems = append(s.Problems, "the manual proxy: "+err.Error())
		case u != nil:
			s.Proxy, s.ProxyFrom = u, "the manual proxy"
		}
	}
	s.Bypass = Bypass{Rules: strings.FieldsFunc(bypass, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })}
	s.BypassFrom = "the bypass list"
	return s
}

// WinProxyFor picks the proxy for scheme from a Windows proxy list
// ("host:port", "http=h:p;https=h:p", entries separated by ";" or spaces).
// nil (no error) when no entry applies.
func WinProxyFor(list, scheme string) (*url.URL, error) {
	var plain, sch, socks string
	for _, e := range strings.FieldsFunc(list, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
		k, v, ok := strings.Cut(e, "=")
		switch {
		case !ok:
			if plain == "" {
				plain = e
			}
		case strings.EqualFold(k, scheme):
			if sch == "" {
				sch = v
			}
		case strings.EqualFold(k, "socks"):
			socks = v
		}
	}
	switch {
	case sch != "":
		return parseWinEntry(sch, "http")
	case plain != "":
		return parseWinEntry(plain, "http")
	case socks != "":
		return parseWinEntry(socks, "socks4")
	}
	return nil, nil
}

func parseWinEntry(e, scheme string) (*url.URL, error) {
	if strings.Contains(e, "://") {
		return ParseProxyURL(e)
	}
	return ParseProxyURL(scheme + "://" + e)
}

// winHops turns WinHTTP's answer for one URL (WINHTTP_PROXY_INFO's access
// type and proxy list, "p1:80;p2:8080", possibly "https=p:443" entries)
// into hops in order. An answer with no usable proxy is DIRECT.
func winHops(accessType uint32, list string) ([]Hop, error) {
	const named = 3
	if accessType != named || strings.TrimSpace(list) == "" {
		return []Hop{Direct}, nil
	}
	var hops []Hop
	for _, e := range strings.FieldsFunc(list, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
		if strings.EqualFold(e, "DIRECT") {
			hops = append(hops, Direct)
			continue
		}
		k, v, ok := strings.Cut(e, "=")
		if ok {
			if !strings.EqualFold(k, "https") {
				continue
			}
			e = v
		}
		u, err := parseWinEntry(e, "http")
		if err != nil {
			return nil, fmt.Errorf("WinHTTP answered a proxy list that is not one (%v)", err)
		}
		hops = append(hops, Hop{Proxy: u})
	}
	if len(hops) == 0 {
		hops = []Hop{Direct}
	}
	return hops, nil
}
