package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// TestProxySettings: proxy: and proxy_pac: give the mode the run uses;
// the default is the browser's (system) settings.
func TestProxySettings(t *testing.T) {
	dir := t.TempDir()
	pac := writeFile(t, dir, "corp.pac", `function FindProxyForURL(u, h) { return "DIRECT"; }`)
	cases := []struct {
		yaml  string
		mode  sysproxy.Mode
		proxy string
		pac   string
	}{
		{"", sysproxy.ModeSystem, "", ""},
		{"proxy: system\n", sysproxy.ModeSystem, "", ""},
		{"proxy: none\n", sysproxy.ModeNone, "", ""},
		{"proxy: DIRECT\n", sysproxy.ModeNone, "", ""},
		{"proxy: http://proxy.corp:3128\n", sysproxy.ModeFixed, "http://proxy.corp:3128", ""},
		{"proxy: proxy.corp:8080\n", sysproxy.ModeFixed, "http://proxy.corp:8080", ""},
		{"proxy: https://proxy.corp\n", sysproxy.ModeFixed, "https://proxy.corp:443", ""},
		{"proxy: socks5://socks.corp:1080\n", sysproxy.ModeFixed, "socks5://socks.corp:1080", ""},
		{"proxy_pac: corp.pac\n", sysproxy.ModePAC, "", pac},
		{"proxy_pac: http://pac.corp/proxy.pac\n", sysproxy.ModePAC, "", "http://pac.corp/proxy.pac"},
		{"proxy_pac: WPAD\n", sysproxy.ModePAC, "", "wpad"},
		{"proxy: system\nproxy_pac: file://" + pac + "\n", sysproxy.ModePAC, "", pac},
	}
	for _, c := range cases {
		p := writeFile(t, dir, "site.yaml", "region: us-east-1\n"+c.yaml)
		f, err := LoadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Build(f, Overrides{})
		if err != nil {
			t.Errorf("%q: %v", c.yaml, err)
			continue
		}
		got := ""
		if cfg.Proxy != nil {
			got = cfg.Proxy.String()
		}
		if cfg.ProxyMode != c.mode || got != c.proxy || cfg.ProxyPAC != c.pac {
			t.Errorf("%q: mode %s proxy %q pac %q, want %s %q %q", c.yaml, cfg.ProxyMode, got, cfg.ProxyPAC, c.mode, c.proxy, c.pac)
		}
	}
}

// TestProxyCredentials: the proxy's credentials come from a file, the
// environment or the proxy URL in the config file, never argv; they print
// redacted, the password is among the run's secrets, and no error quotes
// either.
func TestProxyCredentials(t *testing.T) {
	const pw = "Pr0xy-s3cret"
	dir := t.TempDir()
	writeFile(t, dir, "proxy-creds.json", fmt.Sprintf(`{"username": "CORP\\agent7", "password": %q}`, pw))
	build := func(yaml string) (*Config, error) {
		f, err := LoadFile(writeFile(t, dir, "site.yaml", "region: us-east-1\n"+yaml))
		if err != nil {
			return nil, err
		}
		return Build(f, Overrides{})
	}
	c, err := build("proxy_credentials_file: proxy-creds.json\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyAuth.Username.Reveal() != `CORP\agent7` || c.ProxyAuth.Password.Reveal() != pw || !strings.Contains(c.ProxyAuth.From, "proxy-creds.json") {
		t.Errorf("file: %+v", c.ProxyAuth)
	}
	if s := fmt.Sprintf("%v %+v", c.ProxyAuth, c.ProxyAuth); strings.Contains(s, pw) || strings.Contains(s, "agent7") {
		t.Errorf("credentials print as %s", s)
	}
	if !contains(c.Secrets(), pw) {
		t.Errorf("the proxy password is not among the secrets")
	}

	c, err = build("proxy: http://agent8:" + pw + "@proxy.corp:3128\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Proxy.User != nil || c.Proxy.String() != "http://proxy.corp:3128" || c.ProxyAuth.Username.Reveal() != "agent8" || c.ProxyAuth.Password.Reveal() != pw {
		t.Errorf("URL: proxy %v auth %+v", c.Proxy, c.ProxyAuth)
	}

	t.Setenv(EnvProxyUser, "agent9")
	t.Setenv(EnvProxyPassword, pw)
	if c, err = build(""); err != nil || c.ProxyAuth.Username.Reveal() != "agent9" || c.ProxyAuth.From != EnvProxyUser {
		t.Errorf("env: %+v %v", c.ProxyAuth, err)
	}
	t.Setenv(EnvProxyCredentialsFile, writeFile(t, dir, "env-creds.json", `{"username": "agent10", "password": "x"}`))
	if c, err = build(""); err != nil || c.ProxyAuth.Username.Reveal() != "agent10" {
		t.Errorf("env file: %+v %v", c.ProxyAuth, err)
	}

	for _, bad := range []struct{ yaml, want string }{
		{"proxy: gopher://agent:" + pw + "@proxy.corp:1\n", "want system, none, or http://host:port"},
		{"proxy: http://agent:" + pw + "@proxy.corp:99999\n", "want system, none"},
		{"proxy: socks://agent:" + pw + "@x\n", "want system, none"},
		{"proxy_credentials_file: missing.json\n", "config proxy_credentials_file"},
		{"proxy_credentials_file: bad-creds.json\n", "unknown field"},
		{"proxy_credentials_file: nouser.json\n", "no username"},
		{"proxy: http://agent:" + pw + "@proxy.corp:3128\nproxy_pac: wpad\n", "set one of them"},
		{"proxy_pac: missing.pac\n", "config proxy_pac"},
		{"proxy_pac: ftp://pac.corp/p.pac\n", "want a file, an http(s):// URL or wpad"},
	} {
		writeFile(t, dir, "bad-creds.json", `{"user": "x", "password": "`+pw+`"}`)
		writeFile(t, dir, "nouser.json", `{"password": "`+pw+`"}`)
		_, err := build(bad.yaml)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !IsInput(err) {
			t.Errorf("%q: error %v, want %q", bad.yaml, err, bad.want)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("%q: the error quotes the password: %v", bad.yaml, err)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
