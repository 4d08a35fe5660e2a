package browserpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadJSONDirs reads managed policy files laid out as on Linux: each
// browser's directory, several files, one broken (reported, the others
// still read), unrelated policies left out.
func TestReadJSONDirs(t *testing.T) {
	root := t.TempDir()
	chrome := filepath.Join(root, "opt/chrome/policies/managed")
	edge := filepath.Join(root, "opt/edge/policies/managed")
	os.MkdirAll(chrome, 0o755)
	os.MkdirAll(edge, 0o755)
	os.WriteFile(filepath.Join(chrome, "10-webrtc.json"), []byte(`{"WebRtcIPHandling": "disable_non_proxied_udp", "HomepageLocation": "https://x"}`), 0o644)
	os.WriteFile(filepath.Join(chrome, "20-proxy.json"), []byte(`{"ProxyMode": "fixed_servers", "ProxyServer": "proxy.corp:3128", "WebRtcIPHandling": "default"}`), 0o644)
	os.WriteFile(filepath.Join(edge, "broken.json"), []byte(`{"WebRtcUdpPortRange": "10000-10010",`), 0o644)
	os.WriteFile(filepath.Join(edge, "ok.json"), []byte(`{"WebRtcLocalIpsAllowedUrls": ["https://*.my.connect.aws"]}`), 0o644)
	bs := ReadJSONDirs([]struct{ Browser, Dir string }{
		{"Google Chrome", chrome}, {"Microsoft Edge", edge}, {"Chromium", filepath.Join(root, "nope")},
	})
	if len(bs) != 2 || bs[0].Name != "Google Chrome" || bs[1].Name != "Microsoft Edge" {
		t.Fatalf("browsers %+v", bs)
	}
	c := bs[0]
	if c.str(WebRtcIPHandling) != "disable_non_proxied_udp" || c.Sources[WebRtcIPHandling] != filepath.Join(chrome, "10-webrtc.json") {
		t.Errorf("Chrome WebRtcIPHandling %q from %q (the first file wins)", c.str(WebRtcIPHandling), c.Sources[WebRtcIPHandling])
	}
	if _, ok := c.Values["HomepageLocation"]; ok {
		t.Error("an unrelated policy was kept")
	}
	e := bs[1]
	if len(e.Problems) != 1 || !strings.Contains(e.Problems[0], "broken.json is not a policy file (the JSON ends too early): Microsoft Edge ignores it") {
		t.Errorf("Edge problems %v", e.Problems)
	}
	if got := e.list(WebRtcLocalIpsAllowedUrls); len(got) != 1 || got[0] != "https://*.my.connect.aws" {
		t.Errorf("Edge list %v", got)
	}
}

// TestEvaluate: each WebRTC and proxy policy value and what it does to a
// relay-only softphone call over UDP 3478.
func TestEvaluate(t *testing.T) {
	cases := []struct {
		values map[string]any
		policy string
		sev    Severity
		effect string
		remedy string
	}{
		{map[string]any{WebRtcIPHandling: "disable_non_proxied_udp"}, WebRtcIPHandling, Fail, "every softphone call fails", "set WebRtcIPHandling to default_public_interface_only (or remove it)"},
		{map[string]any{WebRtcIPHandling: "default_public_interface_only"}, WebRtcIPHandling, Info, "works", ""},
		{map[string]any{WebRtcIPHandling: "default"}, WebRtcIPHandling, Info, "as usual", ""},
		{map[string]any{WebRtcIPHandling: "everything"}, WebRtcIPHandling, Warn, "not a value", "set WebRtcIPHandling to default"},
		{map[string]any{WebRtcUdpPortRange: "10000-10999"}, WebRtcUdpPortRange, Info, "10000–10999", ""},
		{map[string]any{WebRtcUdpPortRange: "10000-10003"}, WebRtcUdpPortRange, Warn, "4 ports", "widen WebRtcUdpPortRange"},
		{map[string]any{WebRtcUdpPortRange: "80-90"}, WebRtcUdpPortRange, Warn, "ignores it", "MIN-MAX"},
		{map[string]any{WebRtcLocalIpsAllowedUrls: []any{"https://a"}}, WebRtcLocalIpsAllowedUrls, Info, "not affected", ""},
		{map[string]any{ProxyMode: "fixed_servers", ProxyServer: "https=p.corp:3128;http=q:80"}, "proxy", Info, "the proxy http://p.corp:3128", ""},
		{map[string]any{ProxyMode: "direct"}, "proxy", Info, "connects directly", ""},
		{map[string]any{ProxyServerMode: "1"}, "proxy", Info, "auto-detect", ""},
		{map[string]any{ProxySettings: `{"ProxyMode": "pac_script", "ProxyPacUrl": "http://pac.corp/p.pac"}`, ProxyMode: "direct"}, "proxy", Info, "the PAC http://pac.corp/p.pac", ""},
		{map[string]any{ProxyMode: "pac_script"}, "proxy", Warn, "without ProxyPacUrl", "correct the proxy policy"},
		{map[string]any{ProxyMode: "sideways"}, "proxy", Warn, "does not know", ""},
	}
	for _, c := range cases {
		b := Browser{Name: "Google Chrome"}
		for k, v := range c.values {
			b.add(k, v, `HKLM\Software\Policies\Google\Chrome`)
		}
		fs := Evaluate(b)
		var f *Finding
		for i := range fs {
			if fs[i].Policy == c.policy {
				f = &fs[i]
			}
		}
		if f == nil {
			t.Errorf("%v: no finding for %s", c.values, c.policy)
			continue
		}
		if f.Severity != c.sev || !strings.Contains(f.Effect, c.effect) || !strings.Contains(f.Remedy, c.remedy) || (c.remedy == "" && f.Remedy != "" && c.sev == Info) {
			t.Errorf("%v: %d %q / %q, want %d %q / %q", c.values, f.Severity, f.Effect, f.Remedy, c.sev, c.effect, c.remedy)
		}
		if f.Severity != Info && !strings.Contains(f.Remedy, `HKLM\Software\Policies\Google\Chrome`) && c.policy != "proxy" {
			t.Errorf("%v: remedy %q does not say where the policy is set", c.values, f.Remedy)
		}
	}
}

func TestProxyConfig(t *testing.T) {
	b := Browser{Name: "Microsoft Edge"}
	b.add(ProxyMode, "fixed_servers", "f.json")
	b.add(ProxyServer, "proxy.corp:3128", "f.json")
	b.add(ProxyBypassList, "*.corp.example;<local>", "f.json")
	s, ok, problem := ProxyConfig(b)
	if !ok || problem != "" || s.Proxy == nil || s.Proxy.Host != "proxy.corp:3128" || !s.Bypass.Match("a.corp.example", 443) || !strings.Contains(s.From, "Microsoft Edge's proxy policy (f.json)") {
		t.Errorf("%+v %v %q", s, ok, problem)
	}
	b = Browser{Name: "Google Chrome"}
	b.add(ProxyMode, "system", "f.json")
	if _, ok, problem := ProxyConfig(b); ok || problem != "" {
		t.Errorf("system mode: %v %q", ok, problem)
	}
	if _, ok, _ := ProxyConfig(Browser{Name: "x"}); ok {
		t.Error("no policy gives a proxy")
	}
}

// FuzzPolicyFile: whatever a policy file holds, parsing and evaluating it
// never panics and every finding says what it does.
func FuzzPolicyFile(f *testing.F) {
	f.Add(`{"WebRtcIPHandling": "disable_non_proxied_udp", "WebRtcUdpPortRange": "1-2", "ProxySettings": {"ProxyMode": "fixed_servers", "ProxyServer": "a:1"}}`)
	f.Add(`{"ProxyServerMode": 2, "ProxyServer": 5, "WebRtcLocalIpsAllowedUrls": "x"}`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseJSON([]byte(s))
		if err != nil {
			return
		}
		b := Browser{Name: "Chromium"}
		for _, n := range Names {
			if v, ok := m[n]; ok {
				b.add(n, v, "fuzz.json")
			}
		}
		for _, fd := range Evaluate(b) {
			if fd.Effect == "" {
				t.Fatalf("finding without effect: %+v", fd)
			}
		}
	})
}
