package browserpolicy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// Severity is what a policy does to softphone calls.
type Severity int

// The severities.
const (
	// Info: the policy is set and does not stop calls.
	Info Severity = iota
	// Warn: calls may work, but the policy makes them fragile or the tool
	// cannot test the browser's path as it is.
	Warn
	// Fail: softphone calls in this browser fail while it is set.
	Fail
)

// Finding is one policy and what it does to a softphone call.
type Finding struct {
	Policy string
	// Value is the policy's value as set.
	Value string
	// Source is where it was set (a file, a registry key).
	Source   string
	Severity Severity
	// Effect says what the policy does to the CCP's calls, plainly.
	Effect string
	// Remedy is the policy change that lets calls work ("" when none is
	// needed).
	Remedy string
}

// Evaluate says what each of b's policies does to a softphone call, in
// Names order. Amazon Connect's softphone is relay-only WebRTC to TURN
// servers that take UDP 3478 only (docs/CONNECT.md): a policy that keeps
// WebRTC off UDP stops every call, while policies about host candidates
// or local addresses do not matter to a relay-only call.
func Evaluate(b Browser) []Finding {
	var out []Finding
	at := func(name string) string { return b.Sources[name] }
	if _, ok := b.Values[WebRtcIPHandling]; ok {
		v := b.str(WebRtcIPHandling)
		f := Finding{Policy: WebRtcIPHandling, Value: v, Source: at(WebRtcIPHandling)}
		switch v {
		case "default", "default_public_and_private_interfaces":
			f.Effect = "WebRTC may use UDP on the default route: the softphone reaches Amazon Connect's TURN servers over UDP 3478 as usual"
		case "default_public_interface_only":
			f.Effect = "WebRTC uses UDP only on the interface of the default route (no private addresses in candidates): a relay-only softphone call through Amazon Connect's TURN servers works"
		case "disable_non_proxied_udp":
			f.Severity = Fail
			f.Effect = fmt.Sprintf("%s may send WebRTC over UDP only through a proxy that carries UDP (HTTP proxies carry none), so it reaches TURN only over TCP; Amazon Connect's TURN servers take UDP 3478 only, so every softphone call fails (ice_collection_timeout)", b.Name)
			f.Remedy = fmt.Sprintf("set %s to default_public_interface_only (or remove it) for the agents' browser, in %s", WebRtcIPHandling, f.Source)
		default:
			f.Severity = Warn
			f.Effect = fmt.Sprintf("%q is not a value %s knows; it falls back to its default handling", v, b.Name)
			f.Remedy = fmt.Sprintf("set %s to default or default_public_interface_only in %s", WebRtcIPHandling, f.Source)
		}
		out = append(out, f)
	}
	if _, ok := b.Values[WebRtcUdpPortRange]; ok {
		v := b.str(WebRtcUdpPortRange)
		f := Finding{Policy: WebRtcUdpPortRange, Value: v, Source: at(WebRtcUdpPortRange)}
		lo, hi, ok := portRange(v)
		switch {
		case !ok:
			f.Severity = Warn
			f.Effect = fmt.Sprintf("%q is not a range MIN-MAX of ports 1024–65535: %s ignores it and uses any local port", v, b.Name)
			f.Remedy = fmt.Sprintf("write %s as MIN-MAX (e.g. 10000-10999) in %s, and allow outbound UDP from those ports to Amazon Connect's TURN servers on 3478", WebRtcUdpPortRange, f.Source)
		case hi-lo+1 < minUDPPorts:
			f.Severity = Warn
			f.Effect = fmt.Sprintf("WebRTC's local UDP ports are limited to %d–%d (%d ports): each call gathers candidates on several sockets, so a second call or tab can run out of ports", lo, hi, hi-lo+1)
			f.Remedy = fmt.Sprintf("widen %s to at least %d ports in %s", WebRtcUdpPortRange, minUDPPorts, f.Source)
		default:
			f.Effect = fmt.Sprintf("WebRTC's local UDP ports are %d–%d: the firewall must allow outbound UDP from these ports to Amazon Connect's TURN servers on 3478 (this tool's UDP checks use other local ports)", lo, hi)
		}
		out = append(out, f)
	}
	if _, ok := b.Values[WebRtcLocalIpsAllowedUrls]; ok {
		v := strings.Join(b.list(WebRtcLocalIpsAllowedUrls), ", ")
		out = append(out, Finding{Policy: WebRtcLocalIpsAllowedUrls, Value: v, Source: at(WebRtcLocalIpsAllowedUrls),
			Effect: "pages matching these patterns see local IP addresses in ICE candidates instead of mDNS names; a relay-only softphone call does not use host candidates, so calls are not affected"})
	}
	if s, ok, problem := ProxyConfig(b); ok || problem != "" {
		f := Finding{Policy: "proxy", Value: proxyValue(b), Source: proxySource(b)}
		switch {
		case problem != "":
			f.Severity = Warn
			f.Effect = problem
			f.Remedy = fmt.Sprintf("correct the proxy policy in %s", f.Source)
		case s.Empty():
			f.Effect = fmt.Sprintf("%s connects directly, whatever the system's proxy settings say", b.Name)
		default:
			f.Effect = fmt.Sprintf("%s uses its policy's proxy settings, not the system's: %s", b.Name, describe(s))
		}
		out = append(out, f)
	}
	return out
}

// minUDPPorts is the smallest WebRtcUdpPortRange that is not a warning: a
// call gathers on a few sockets (one per interface and TURN server), and
// an agent may have the CCP open twice.
const minUDPPorts = 16

// portRange parses "MIN-MAX" as Chrome does: 1024 ≤ MIN ≤ MAX ≤ 65535.
func portRange(s string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	var err1, err2 error
	lo, err1 = strconv.Atoi(strings.TrimSpace(a))
	hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}

// proxyPolicy is the browser's effective proxy policy: ProxySettings when
// set (it overrides the individual policies), else ProxyMode (or the
// deprecated ProxyServerMode) with ProxyServer, ProxyPacUrl and
// ProxyBypassList.
type proxyPolicy struct {
	mode, server, pac, bypass string
	source                    string
}

func (b Browser) proxyPolicy() (proxyPolicy, bool) {
	if raw, ok := b.Values[ProxySettings]; ok {
		m, _ := raw.(map[string]any)
		if s, isStr := raw.(string); isStr { // Windows keeps it as a JSON string
			m, _ = ParseJSON([]byte(s))
		}
		get := func(k string) string {
			if v, ok := m[k].(string); ok {
				return strings.TrimSpace(v)
			}
			return ""
		}
		p := proxyPolicy{mode: get(ProxyMode), server: get(ProxyServer), pac: get(ProxyPacURL), bypass: get(ProxyBypassList), source: b.Sources[ProxySettings]}
		if m == nil {
			p.mode = "unreadable"
		}
		return p, true
	}
	p := proxyPolicy{mode: b.str(ProxyMode), server: b.str(ProxyServer), pac: b.str(ProxyPacURL), bypass: b.str(ProxyBypassList), source: b.Sources[ProxyMode]}
	if p.mode == "" {
		if v := b.str(ProxyServerMode); v != "" {
			p.mode = map[string]string{"0": "direct", "1": "auto_detect", "2": "fixed_servers", "3": "system"}[v]
			if p.mode == "" {
				p.mode = "unknown ProxyServerMode " + v
			}
			p.source = b.Sources[ProxyServerMode]
		}
	}
	if p.mode == "" && (p.server != "" || p.pac != "") {
		// Chrome infers the mode from the other policies.
		p.mode, p.source = "fixed_servers", b.Sources[ProxyServer]
		if p.server == "" {
			p.mode, p.source = "pac_script", b.Sources[ProxyPacURL]
		}
	}
	return p, p.mode != ""
}

// ProxyConfig returns the proxy settings b's policy imposes, as
// sysproxy.Settings, and true; false when the policy leaves the system's
// settings in force (no policy, or ProxyMode system). problem is set
// (and ok false) when the policy is set but unusable.
func ProxyConfig(b Browser) (s sysproxy.Settings, ok bool, problem string) {
	p, set := b.proxyPolicy()
	if !set {
		return s, false, ""
	}
	s = sysproxy.Settings{From: b.Name + "'s proxy policy (" + p.source + ")"}
	switch p.mode {
	case "system":
		return s, false, ""
	case "direct":
		return s, true, ""
	case "auto_detect":
		s.AutoDetect = true
		return s, true, ""
	case "pac_script":
		if p.pac == "" {
			return s, false, fmt.Sprintf("%s's proxy policy is pac_script without ProxyPacUrl: it falls back to a direct connection", b.Name)
		}
		s.PACURL = p.pac
		return s, true, ""
	case "fixed_servers":
		u, err := sysproxy.WinProxyFor(p.server, "https")
		if err != nil || u == nil {
			return s, false, fmt.Sprintf("%s's proxy policy is fixed_servers with ProxyServer %q, which names no proxy for https", b.Name, p.server)
		}
		s.Proxy, s.ProxyFrom = u, "ProxyServer"
		s.Bypass = sysproxy.Bypass{Rules: strings.FieldsFunc(p.bypass, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })}
		s.BypassFrom = "ProxyBypassList"
		return s, true, ""
	}
	return s, false, fmt.Sprintf("%s's proxy policy has the mode %q, which it does not know", b.Name, p.mode)
}

func proxyValue(b Browser) string {
	p, _ := b.proxyPolicy()
	parts := []string{"mode " + p.mode}
	if p.server != "" {
		parts = append(parts, "server "+p.server)
	}
	if p.pac != "" {
		parts = append(parts, "PAC "+p.pac)
	}
	if p.bypass != "" {
		parts = append(parts, "bypass "+p.bypass)
	}
	return strings.Join(parts, ", ")
}

func proxySource(b Browser) string {
	p, _ := b.proxyPolicy()
	return p.source
}

func describe(s sysproxy.Settings) string {
	switch {
	case s.AutoDetect:
		return "auto-detect (WPAD)"
	case s.PACURL != "":
		return "the PAC " + s.PACURL
	case s.Proxy != nil:
		return "the proxy " + sysproxy.Redact(s.Proxy)
	}
	return "direct"
}
