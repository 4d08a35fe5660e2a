package sysproxy

import (
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzPAC runs arbitrary scripts as PACs under tight limits: whatever a
// PAC server sends, the evaluator returns hops or a one-line *PACError
// naming the PAC, within the limits, and never panics.
func FuzzPAC(f *testing.F) {
	for _, s := range []string{
		perHostPAC,
		`function FindProxyForURL(u, h) { return "PROXY a:1; DIRECT"; }`,
		`function FindProxyForURL(u, h) { while(1){} }`,
		`function FindProxyForURL(u, h) { var s = "x"; for (;;) s += s; }`,
		`function FindProxyForURL(u, h) { return shExpMatch(h, "*.*.*.*.*.*.*.*.*a") ? "DIRECT" : "PROXY x"; }`,
		`function FindProxyForURL(u, h) { return dateRange(1, "JAN", 2000, 31, "DEC", 2100) ? "DIRECT" : null; }`,
		`}{`, ``,
	} {
		f.Add(s, "connect.lab.test")
	}
	f.Fuzz(func(t *testing.T, src, host string) {
		start := time.Now()
		lim := PACLimits{Time: 50 * time.Millisecond, Memory: 16 << 20}
		p, err := CompilePAC(context.Background(), "fuzz.pac", []byte(src), testHost(), lim)
		if err == nil {
			var hops []Hop
			hops, err = p.FindProxy(context.Background(), "https://"+host+"/", host)
			if err == nil && len(hops) == 0 {
				t.Fatal("no error and no hops")
			}
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "the PAC fuzz.pac ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line naming the PAC", msg)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

// FuzzParsePACResult: any string FindProxyForURL returns parses to hops
// with valid host:port proxies, or to an error.
func FuzzParsePACResult(f *testing.F) {
	for _, s := range []string{"DIRECT", "PROXY a:1; HTTPS b; SOCKS5 c:2; DIRECT", "PROXY [::1]:80", "GO a:1", ";;;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hops, err := ParsePACResult(s)
		if err != nil {
			return
		}
		if len(hops) == 0 || len(hops) > maxHops {
			t.Fatalf("%q: %d hops", s, len(hops))
		}
		for _, h := range hops {
			if h.Proxy != nil && (h.Proxy.Hostname() == "" || h.Proxy.Port() == "") {
				t.Fatalf("%q: hop %v without host or port", s, h)
			}
		}
	})
}

// FuzzSettings feeds the OS settings parsers (GNOME's gsettings output,
// macOS's scutil output, Windows' proxy lists) whatever a system may hold:
// they never panic and never produce a proxy without host and port.
func FuzzSettings(f *testing.F) {
	f.Add(gsettingsManual)
	f.Add(scutilOut)
	f.Add("http=a:1;https=b:2;socks=c:3")
	f.Fuzz(func(t *testing.T, s string) {
		check := func(from string, st Settings) {
			if st.Proxy != nil && (st.Proxy.Hostname() == "" || st.Proxy.Port() == "") {
				t.Fatalf("%s: proxy %v without host or port", from, st.Proxy)
			}
			st.Bypass.Match("connect.lab.test", 443)
			st.Bypass.Match("10.0.0.1", 443)
		}
		check("gsettings", ParseGSettings(s))
		check("scutil", ParseScutil(s))
		check("IE", FromIEConfig(true, s, s, s))
		winHops(3, s)
		ParseResolvConf([]byte(s))
	})
}
