package sysproxy

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	cases := []struct {
		env                 map[string]string
		proxy, from, bypass string
		autoDetect          bool
		pac                 string
		problem             string
	}{
		{env: map[string]string{}},
		{env: map[string]string{"HTTPS_PROXY": "proxy.corp:3128"}, proxy: "http://proxy.corp:3128", from: "HTTPS_PROXY"},
		{env: map[string]string{"https_proxy": "http://u:p@proxy.corp"}, proxy: "http://proxy.corp:80", from: "HTTPS_PROXY"},
		{env: map[string]string{"ALL_PROXY": "socks5://s:1080"}, proxy: "socks5://s:1080", from: "ALL_PROXY"},
		{env: map[string]string{"HTTPS_PROXY": "a:1", "ALL_PROXY": "b:2"}, proxy: "http://a:1", from: "HTTPS_PROXY"},
		{env: map[string]string{"HTTPS_PROXY": "a:1", "NO_PROXY": ".corp,10.0.0.0/8"}, proxy: "http://a:1", from: "HTTPS_PROXY", bypass: ".corp,10.0.0.0/8"},
		{env: map[string]string{"auto_proxy": "http://pac.corp/p.pac"}, pac: "http://pac.corp/p.pac"},
		{env: map[string]string{"auto_proxy": ""}, autoDetect: true},
		{env: map[string]string{"HTTPS_PROXY": "ftp://x:1"}, problem: "scheme"},
		{env: map[string]string{"HTTPS_PROXY": "http://user:s3cret@[bad"}, problem: "not a URL"},
	}
	for _, c := range cases {
		s := FromEnv(MapEnv(c.env))
		got := ""
		if s.Proxy != nil {
			got = Redact(s.Proxy)
		}
		if got != c.proxy || (c.proxy != "" && s.ProxyFrom != c.from) {
			t.Errorf("%v: proxy %q from %q, want %q from %q", c.env, got, s.ProxyFrom, c.proxy, c.from)
		}
		if strings.Join(s.Bypass.Rules, ",") != c.bypass {
			t.Errorf("%v: bypass %v", c.env, s.Bypass.Rules)
		}
		if s.AutoDetect != c.autoDetect || s.PACURL != c.pac {
			t.Errorf("%v: auto %v pac %q", c.env, s.AutoDetect, s.PACURL)
		}
		p := strings.Join(s.Problems, "; ")
		if (c.problem == "") != (p == "") || !strings.Contains(p, c.problem) {
			t.Errorf("%v: problems %q, want %q", c.env, p, c.problem)
		}
		if strings.Contains(p, "s3cret") {
			t.Errorf("a problem quotes the proxy password: %q", p)
		}
	}
}

func TestBypass(t *testing.T) {
	cases := []struct {
		rules  string
		suffix bool
		host   string
		port   int
		want   bool
	}{
		{"<local>", false, "intranet", 443, true},
		{"<local>", false, "intranet.corp", 443, false},
		{"<local>", false, "10.0.0.1", 443, false},
		{"*.corp.example", false, "a.corp.example", 443, true},
		{"*.corp.example", false, "corp.example", 443, false},
		{".corp.example", false, "a.b.corp.example", 443, true},
		{"corp.example", false, "a.corp.example", 443, false},
		{"corp.example", true, "a.corp.example", 443, true},
		{"corp.example", true, "notcorp.example", 443, false},
		{"10.*", false, "10.1.2.3", 443, true},
		{"10.0.0.0/8", false, "10.1.2.3", 443, true},
		{"10.0.0.0/8", false, "11.1.2.3", 443, false},
		{"169.254/16", false, "169.254.9.9", 443, true},
		{"fe80::/10", false, "fe80::1", 443, true},
		{"connect.lab.test:443", false, "connect.lab.test", 443, true},
		{"connect.lab.test:8443", false, "connect.lab.test", 443, false},
		{"https://connect.lab.test", false, "CONNECT.lab.test", 443, true},
		{"*", true, "anything.example", 443, true},
		{" ", false, "x", 443, false},
	}
	for _, c := range cases {
		b := Bypass{Rules: strings.Split(c.rules, ","), Suffix: c.suffix}
		if got := b.Match(c.host, c.port); got != c.want {
			t.Errorf("%q (suffix %v) match %s:%d = %v, want %v", c.rules, c.suffix, c.host, c.port, got, c.want)
		}
	}
}

// gsettingsManual is `gsettings list-recursively org.gnome.system.proxy`
// as GNOME 43 prints it with a manual proxy.
const gsettingsManual = `org.gnome.system.proxy autoconfig-url ''
org.gnome.system.proxy ignore-hosts ['localhost', '127.0.0.0/8', '::1', '*.corp.example']
org.gnome.system.proxy mode 'manual'
org.gnome.system.proxy use-same-proxy true
org.gnome.system.proxy.ftp host ''
org.gnome.system.proxy.ftp port 0
org.gnome.system.proxy.http authentication-password ''
org.gnome.system.proxy.http authentication-user ''
org.gnome.system.proxy.http enabled false
org.gnome.system.proxy.http host 'web.corp.example'
org.gnome.system.proxy.http port 8080
org.gnome.system.proxy.http use-authentication false
org.gnome.system.proxy.https host 'secure.corp.example'
org.gnome.system.proxy.https port 3128
org.gnome.system.proxy.socks host ''
org.gnome.system.proxy.socks port 0
`

func TestParseGSettings(t *testing.T) {
	s := ParseGSettings(gsettingsManual)
	if s.Proxy == nil || s.Proxy.String() != "http://secure.corp.example:3128" {
		t.Errorf("manual: proxy %v", s.Proxy)
	}
	if !s.Bypass.Match("a.corp.example", 443) || s.Bypass.Match("connect.lab.test", 443) {
		t.Errorf("manual: bypass %v", s.Bypass.Rules)
	}
	// No https proxy: use-same-proxy makes the http one serve https too.
	s = ParseGSettings(strings.Replace(gsettingsManual, "'secure.corp.example'", "''", 1))
	if s.Proxy == nil || s.Proxy.Host != "web.corp.example:8080" {
		t.Errorf("use-same-proxy: proxy %v", s.Proxy)
	}
	s = ParseGSettings(strings.NewReplacer("'manual'", "'auto'", "autoconfig-url ''", "autoconfig-url 'http://pac.corp/p.pac'").Replace(gsettingsManual))
	if s.PACURL != "http://pac.corp/p.pac" || s.AutoDetect || s.Proxy != nil {
		t.Errorf("auto with URL: %+v", s)
	}
	s = ParseGSettings(strings.Replace(gsettingsManual, "'manual'", "'auto'", 1))
	if !s.AutoDetect || s.PACURL != "" {
		t.Errorf("auto without URL is WPAD: %+v", s)
	}
	if s = ParseGSettings(strings.Replace(gsettingsManual, "'manual'", "'none'", 1)); !s.Empty() {
		t.Errorf("none: %+v", s)
	}
}

// TestReadLinuxGSettings reads GNOME's settings through the real gsettings
// with its keyfile backend in a temporary directory: what a GNOME user
// sets in Settings → Network → Proxy is what the run uses.
func TestReadLinuxGSettings(t *testing.T) {
	gs, err := exec.LookPath("gsettings")
	if err != nil {
		t.Skip("gsettings is not installed (libglib2.0-bin, gsettings-desktop-schemas)")
	}
	dir := t.TempDir()
	envv := append(os.Environ(), "XDG_CONFIG_HOME="+dir, "GSETTINGS_BACKEND=keyfile")
	for _, kv := range [][]string{
		{"org.gnome.system.proxy", "mode", "manual"},
		{"org.gnome.system.proxy.https", "host", "proxy.corp.example"},
		{"org.gnome.system.proxy.https", "port", "3128"},
		{"org.gnome.system.proxy", "ignore-hosts", "['*.intranet.example']"},
	} {
		cmd := exec.Command(gs, append([]string{"set"}, kv...)...)
		cmd.Env = envv
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("gsettings set %v: %v: %s (no GNOME schemas?)", kv, err, out)
		}
	}
	run := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = envv
		return cmd.Output()
	}
	env := MapEnv(map[string]string{"XDG_CURRENT_DESKTOP": "ubuntu:GNOME", "HTTPS_PROXY": "env.example:1"})
	s := readLinux(context.Background(), env, run)
	if s.From != "GNOME proxy settings" || s.Proxy == nil || s.Proxy.Host != "proxy.corp.example:3128" {
		t.Fatalf("GNOME desktop: %+v", s)
	}
	if !s.Bypass.Match("a.intranet.example", 443) {
		t.Errorf("ignore-hosts not applied: %v", s.Bypass.Rules)
	}
	// Outside GNOME (a terminal over SSH): the environment, as Chrome does.
	s = readLinux(context.Background(), MapEnv(map[string]string{"HTTPS_PROXY": "env.example:1"}), run)
	if s.From != "the environment" || s.Proxy == nil || s.Proxy.Host != "env.example:1" {
		t.Errorf("no desktop: %+v", s)
	}
}

// scutilOut is `scutil --proxy` on macOS 14 with a PAC, a manual HTTPS
// proxy and exceptions.
const scutilOut = `<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
    2 : *.corp.example
  }
  ExcludeSimpleHostnames : 1
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 8080
  HTTPProxy : web.corp.example
  HTTPSEnable : 1
  HTTPSPort : 3128
  HTTPSProxy : secure.corp.example
  ProxyAutoConfigEnable : 1
  ProxyAutoConfigURLString : http://pac.corp.example/proxy.pac
  ProxyAutoDiscoveryEnable : 0
}
`

func TestParseScutil(t *testing.T) {
	s := ParseScutil(scutilOut)
	if s.PACURL != "http://pac.corp.example/proxy.pac" || s.AutoDetect {
		t.Errorf("PAC: %+v", s)
	}
	if s.Proxy == nil || s.Proxy.Host != "secure.corp.example:3128" {
		t.Errorf("HTTPS proxy: %v", s.Proxy)
	}
	for host, want := range map[string]bool{"printer.local": true, "169.254.1.1": true, "intranet": true, "a.corp.example": true, "connect.lab.test": false} {
		if s.Bypass.Match(host, 443) != want {
			t.Errorf("exception %s: want %v (%v)", host, want, s.Bypass.Rules)
		}
	}
	s = ParseScutil("<dictionary> {\n  HTTPEnable : 0\n  ProxyAutoDiscoveryEnable : 1\n}\n")
	if !s.AutoDetect || s.Proxy != nil || s.PACURL != "" {
		t.Errorf("WPAD only: %+v", s)
	}
	if s = ParseScutil("<dictionary> {\n}\n"); !s.Empty() {
		t.Errorf("nothing: %+v", s)
	}
}

func TestFromIEConfig(t *testing.T) {
	cases := []struct {
		proxy, want string
	}{
		{"proxy.corp:8080", "http://proxy.corp:8080"},
		{"http=web.corp:80;https=secure.corp:3128;ftp=f:21", "http://secure.corp:3128"},
		{"http=web.corp:80", ""},
		{"socks=s.corp:1080", "socks4://s.corp:1080"},
		{"https=http://secure.corp:3128", "http://secure.corp:3128"},
	}
	for _, c := range cases {
		s := FromIEConfig(false, "", c.proxy, "<local>;*.corp.example")
		got := ""
		if s.Proxy != nil {
			got = s.Proxy.String()
		}
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.proxy, got, c.want)
		}
	}
	s := FromIEConfig(true, " http://pac/p.pac ", "", "<local>; *.corp.example")
	if !s.AutoDetect || s.PACURL != "http://pac/p.pac" || !s.Bypass.Match("intranet", 443) || !s.Bypass.Match("x.corp.example", 443) {
		t.Errorf("%+v", s)
	}
	if s := FromIEConfig(false, "", "bad:port:x", ""); len(s.Problems) == 0 {
		t.Errorf("a bad manual proxy is not reported: %+v", s)
	}
}

// TestWindowsDecisions: the per-URL choice from captured Internet
// Settings, with WinHTTP's answers replayed (the part of the Windows
// reader that turns OS data into decisions).
func TestWindowsDecisions(t *testing.T) {
	type winAnswer struct {
		hops []Hop
		used string
		err  error
	}
	p := func(s string) Hop { u, _ := url.Parse(s); return Hop{Proxy: u} }
	cases := []struct {
		name         string
		auto         bool
		pac, proxy   string
		bypass       string
		host         string
		answer       winAnswer
		want, origin string
		warn         string
	}{
		{name: "manual", proxy: "proxy.corp:8080", host: "connect.lab.test", want: "PROXY proxy.corp:8080", origin: "manual"},
		{name: "bypass", proxy: "proxy.corp:8080", bypass: "*.lab.test;<local>", host: "connect.lab.test", want: "DIRECT", origin: "bypass"},
		{name: "nothing", host: "connect.lab.test", want: "DIRECT", origin: "none"},
		{name: "pac", pac: "http://pac/p.pac", host: "connect.lab.test",
			answer: winAnswer{hops: []Hop{p("http://a:1"), p("http://b:2")}, used: "http://pac/p.pac"},
			want:   "PROXY a:1; PROXY b:2", origin: "pac"},
		{name: "wpad found", auto: true, host: "connect.lab.test",
			answer: winAnswer{hops: []Hop{p("http://w:3128")}, used: "http://wpad.corp/wpad.dat"},
			want:   "PROXY w:3128", origin: "wpad"},
		{name: "wpad fails, manual applies", auto: true, proxy: "proxy.corp:8080", host: "connect.lab.test",
			answer: winAnswer{err: errors.New("automatic proxy detection (WPAD) found no PAC")},
			want:   "PROXY proxy.corp:8080", origin: "manual", warn: "found no PAC; using the manual proxy"},
		{name: "pac fails, direct", pac: "http://pac/p.pac", host: "connect.lab.test",
			answer: winAnswer{err: errors.New("the PAC http://pac/p.pac gave no answer through WinHTTP (the PAC has an error)")},
			want:   "DIRECT", origin: "none", warn: "the PAC has an error); going DIRECT"},
	}
	for _, c := range cases {
		s := FromIEConfig(c.auto, c.pac, c.proxy, c.bypass)
		s.auto = func(_ context.Context, rawURL string, auto bool, pac string) ([]Hop, string, error) {
			if rawURL != "https://"+c.host+"/" {
				t.Errorf("%s: WinHTTP asked for %q", c.name, rawURL)
			}
			return c.answer.hops, c.answer.used, c.answer.err
		}
		r := NewResolver(Options{Mode: ModeSystem, System: func(context.Context) Settings { return s }})
		ch := r.For(context.Background(), "https://"+c.host+"/path?q")
		if ch.String() != c.want || ch.Origin != c.origin {
			t.Errorf("%s: %s (%s: %s), want %s (%s)", c.name, ch, ch.Origin, ch.Source, c.want, c.origin)
		}
		if !strings.Contains(ch.Warning, c.warn) || (c.warn == "") != (ch.Warning == "") {
			t.Errorf("%s: warning %q, want %q", c.name, ch.Warning, c.warn)
		}
		if !strings.Contains(ch.Source, "Windows Internet Settings") && ch.Origin != "none" && c.origin != "wpad" {
			t.Errorf("%s: source %q does not name Windows Internet Settings", c.name, ch.Source)
		}
	}
}

func TestWinHops(t *testing.T) {
	for _, c := range []struct {
		at   uint32
		list string
		want string
	}{
		{1, "", "DIRECT"},
		{3, "a:80;b:8080", "PROXY a:80; PROXY b:8080"},
		{3, "http=h:80;https=s:443", "PROXY s:443"},
		{3, "a:80 DIRECT", "PROXY a:80; DIRECT"},
	} {
		hops, err := winHops(c.at, c.list)
		if err != nil || (Choice{Hops: hops}).String() != c.want {
			t.Errorf("%d %q: %v %v, want %s", c.at, c.list, hops, err, c.want)
		}
	}
	if _, err := winHops(3, "a:notaport"); err == nil {
		t.Error("a bad WinHTTP list is accepted")
	}
}

func TestParseResolvConf(t *testing.T) {
	got := ParseResolvConf([]byte("# x\nnameserver 10.0.0.1\ndomain old.example\nsearch corp.example.com lab.test.\n"))
	if strings.Join(got, ",") != "corp.example.com,lab.test" {
		t.Errorf("search: %v", got)
	}
	got = ParseResolvConf([]byte("domain corp.example\nnameserver 1.1.1.1\n"))
	if strings.Join(got, ",") != "corp.example" {
		t.Errorf("domain: %v", got)
	}
	if got := WPADCandidates([]string{"a.corp.example.com", "corp.example.com", "local"}); strings.Join(got, ",") != "wpad.a.corp.example.com,wpad.corp.example.com,wpad.example.com" {
		t.Errorf("WPAD candidates: %v", got)
	}
}

func TestParseProxyURLRedacts(t *testing.T) {
	for _, in := range []string{"http://user:s3cret@[::1", "gopher://user:s3cret@h:1", "http://user:s3cret@h:99999"} {
		_, err := ParseProxyURL(in)
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: error quotes the password: %v", in, err)
		}
	}
}
