package config

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/internal/redact"
	"github.com/ccp-preflight/ccp-preflight/sysproxy"
)

// Environment variables that carry the proxy's credentials instead of
// argv (the config file may name a file instead: proxy_credentials_file).
const (
	// EnvProxyCredentialsFile names a file {"username": "…", "password": "…"}.
	EnvProxyCredentialsFile = "CCP_PREFLIGHT_PROXY_CREDENTIALS_FILE"
	// EnvProxyUser and EnvProxyPassword hold them directly.
	EnvProxyUser     = "CCP_PREFLIGHT_PROXY_USER"
	EnvProxyPassword = "CCP_PREFLIGHT_PROXY_PASSWORD"
)

// ProxyCredentials are the proxy's user name (DOMAIN\user or
// user@domain for NTLM) and password. Both print as "[redacted]".
type ProxyCredentials struct {
	Username Secret `json:"username"`
	Password Secret `json:"password"`
	// From names where they came from, for messages ("proxy_credentials_file
	// creds.json", "CCP_PREFLIGHT_PROXY_USER", "the proxy URL"); "" when
	// there are none.
	From string `json:"-"`
}

// Given reports whether credentials were given.
func (p ProxyCredentials) Given() bool { return p.Username != "" }

// setProxy sets ProxyMode, Proxy, ProxyPAC and ProxyAuth from the file's
// proxy:, proxy_pac: and proxy_credentials_file: and the environment.
//
//	proxy: (unset) | system   the browser's settings, per URL (default)
//	proxy: none | direct      no proxy
//	proxy: http://host:port   this proxy for every endpoint (https://, socks5:// too)
//	proxy_pac: FILE|URL|wpad  evaluate this PAC (or find one by WPAD) instead
//
// Errors never quote a password.
func (c *Config) setProxy(f *File, _ Overrides) error {
	c.ProxyMode = sysproxy.ModeSystem
	var urlAuth *url.Userinfo
	switch v := strings.TrimSpace(f.Proxy); strings.ToLower(v) {
	case "", "system":
	case "none", "direct":
		c.ProxyMode = sysproxy.ModeNone
	default:
		u, err := sysproxy.ParseProxyURL(v)
		if err != nil || u.Scheme == "socks4" {
			return inputErr("config proxy %q: want system, none, or http://host:port (https:// and socks5:// too)", redact.Proxy(v))
		}
		urlAuth, u.User = u.User, nil
		c.ProxyMode, c.Proxy = sysproxy.ModeFixed, u
	}
	if pac := strings.TrimSpace(f.ProxyPAC); pac != "" {
		if c.ProxyMode != sysproxy.ModeSystem {
			return inputErr("config proxy_pac %q: proxy: %s says otherwise; set one of them", pac, redact.Proxy(f.Proxy))
		}
		p, err := pacSpec(f, pac)
		if err != nil {
			return err
		}
		c.ProxyMode, c.ProxyPAC = sysproxy.ModePAC, p
	}
	var err error
	c.ProxyAuth, err = loadProxyCredentials(f.path(f.ProxyCredentialsFile))
	if err != nil {
		return err
	}
	if !c.ProxyAuth.Given() && urlAuth != nil && urlAuth.Username() != "" {
		pw, _ := urlAuth.Password()
		c.ProxyAuth = ProxyCredentials{Username: Secret(urlAuth.Username()), Password: Secret(pw), From: "the proxy URL"}
	}
	return nil
}

// pacSpec checks proxy_pac: a URL (http, https, file), "wpad", or a
// readable file (relative to the config file).
func pacSpec(f *File, pac string) (string, error) {
	if strings.EqualFold(pac, sysproxy.WPAD) {
		return sysproxy.WPAD, nil
	}
	if strings.Contains(pac, "://") {
		u, err := url.Parse(pac)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") || (u.Scheme != "file" && u.Host == "") {
			return "", inputErr("config proxy_pac %q: want a file, an http(s):// URL or wpad", redact.Proxy(pac))
		}
		if u.Scheme != "file" {
			return pac, nil
		}
		pac = u.Path
	}
	p := f.path(pac)
	st, err := os.Stat(p)
	if err != nil {
		return "", inputErr("config proxy_pac: %v", err)
	}
	if st.IsDir() {
		return "", inputErr("config proxy_pac: %s is a directory, not a PAC file", p)
	}
	return p, nil
}

// loadProxyCredentials reads the proxy's credentials from path, else from
// the environment (EnvProxyCredentialsFile, then EnvProxyUser and
// EnvProxyPassword). None anywhere is not an error.
func loadProxyCredentials(path string) (ProxyCredentials, error) {
	src, key := path, "config proxy_credentials_file"
	if src == "" {
		src, key = os.Getenv(EnvProxyCredentialsFile), EnvProxyCredentialsFile
	}
	if src == "" {
		user := os.Getenv(EnvProxyUser)
		if user == "" {
			return ProxyCredentials{}, nil
		}
		return ProxyCredentials{Username: Secret(user), Password: Secret(os.Getenv(EnvProxyPassword)), From: EnvProxyUser}, nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return ProxyCredentials{}, inputErr("%s: %v", key, err)
	}
	return ParseProxyCredentials(b, key+" "+src)
}

// ParseProxyCredentials parses {"username": "DOMAIN\\user", "password":
// "…"} (unknown keys are an error); src names it in errors, which never
// quote the values.
func ParseProxyCredentials(b []byte, src string) (ProxyCredentials, error) {
	var p ProxyCredentials
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		msg := jsonErr(err)
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			msg = strings.TrimPrefix(err.Error(), "json: ")
		}
		return ProxyCredentials{}, inputErr("%s: %s (want {\"username\": \"DOMAIN\\\\user\", \"password\": \"…\"})", src, msg)
	}
	if p.Username == "" {
		return ProxyCredentials{}, inputErr("%s: no username", src)
	}
	p.From = src
	return p, nil
}
