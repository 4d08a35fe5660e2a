package sysproxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const perHostPAC = `function FindProxyForURL(url, host) {
  if (url.indexOf("/secret") >= 0) return "PROXY leaked.path:1";
  if (dnsDomainIs(host, "static.lab.test")) return "PROXY b.corp:3129; DIRECT";
  if (isInNet(dnsResolve(host), "203.0.113.0", "255.255.255.0")) return "PROXY a.corp:3128";
  return "DIRECT";
}`

// zoneLookup resolves from a map, like the lab's DNS.
func zoneLookup(zone map[string]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, h string) ([]netip.Addr, error) {
		if a, ok := zone[strings.ToLower(h)]; ok {
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		}
		return nil, errors.New("NXDOMAIN")
	}
}

// TestResolverPACURL: a PAC served over HTTP is fetched once, evaluated
// per host (with dnsResolve through the run's resolver), and each URL's
// choice names the PAC; the URL's path never reaches the PAC (https).
func TestResolverPACURL(t *testing.T) {
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		fmt.Fprint(w, perHostPAC)
	}))
	defer srv.Close()
	pacURL := strings.Replace(srv.URL, "127.0.0.1", "pac.lab.test", 1) + "/proxy.pac"
	r := NewResolver(Options{Mode: ModePAC, PAC: pacURL, PACFrom: "proxy_pac in the config file",
		Lookup: zoneLookup(map[string]string{"pac.lab.test": "127.0.0.1", "connect.lab.test": "203.0.113.20"})})
	for _, c := range []struct{ url, want string }{
		{"https://connect.lab.test/secret/path", "PROXY a.corp:3128"},
		{"https://static.lab.test/", "PROXY b.corp:3129; DIRECT"},
		{"https://other.example/", "DIRECT"},
	} {
		ch := r.For(context.Background(), c.url)
		if ch.String() != c.want || ch.Origin != "pac" || ch.PAC != pacURL || ch.Warning != "" {
			t.Errorf("%s: %s origin %s pac %s warning %q, want %s from the PAC", c.url, ch, ch.Origin, ch.PAC, ch.Warning, c.want)
		}
		if !strings.Contains(ch.Source, pacURL) || !strings.Contains(ch.Source, "proxy_pac") {
			t.Errorf("%s: source %q", c.url, ch.Source)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("PAC fetched %d times, want once", n)
	}
}

// TestResolverPACFailures: a PAC that cannot be fetched or used gives
// DIRECT with one warning line naming the PAC (a browser goes DIRECT).
func TestResolverPACFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing.pac":
			http.NotFound(w, r)
		case "/loop.pac":
			fmt.Fprint(w, `function FindProxyForURL(u, h) { while (true) {} }`)
		case "/html.pac":
			fmt.Fprint(w, `<html><body>Please log in</body></html>`)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pac")
	os.WriteFile(bad, []byte(`function FindProxyForURL(u, h) { return "PROXY"; }`), 0o644)
	// A port nothing listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String() + "/p.pac"
	ln.Close()
	for _, c := range []struct{ pac, want string }{
		{srv.URL + "/missing.pac", "could not be fetched: the server answered HTTP 404"},
		{srv.URL + "/loop.pac", "ran past its time limit"},
		{srv.URL + "/html.pac", "does not parse"},
		{closed, "refused"},
		{filepath.Join(dir, "nope.pac"), "does not exist"},
		{bad, "returned garbage"},
		{"ftp://pac.corp/p.pac", "scheme"},
	} {
		r := NewResolver(Options{Mode: ModePAC, PAC: c.pac, Limits: PACLimits{Time: 200 * time.Millisecond}})
		ch := r.For(context.Background(), "https://connect.lab.test/")
		if ch.String() != "DIRECT" || ch.Proxied() {
			t.Errorf("%s: %s, want DIRECT", c.pac, ch)
		}
		if !strings.Contains(ch.Warning, "the PAC "+c.pac) || !strings.Contains(ch.Warning, c.want) ||
			!strings.Contains(ch.Warning, "going DIRECT") || strings.Contains(ch.Warning, "\n") {
			t.Errorf("%s: warning %q, want one line naming the PAC and %q", c.pac, ch.Warning, c.want)
		}
	}
}

// TestResolverSystemOrder: auto-detect, then the PAC URL, then the manual
// proxy, as browsers apply the settings; a failed automatic step falls
// through with a warning.
func TestResolverSystemOrder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok.pac" {
			fmt.Fprint(w, `function FindProxyForURL(u, h) { return "PROXY pac.proxy:1"; }`)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	manual, _ := ParseProxyURL("manual.proxy:2")
	cases := []struct {
		name string
		s    Settings
		want string
		warn string
	}{
		{"PAC wins over manual", Settings{From: "X", PACURL: srv.URL + "/ok.pac", Proxy: manual}, "PROXY pac.proxy:1", ""},
		{"broken PAC falls to manual", Settings{From: "X", PACURL: srv.URL + "/gone.pac", Proxy: manual}, "PROXY manual.proxy:2", "HTTP 404 Not Found; using the manual proxy"},
		{"WPAD finds nothing, PAC applies", Settings{From: "X", AutoDetect: true, PACURL: srv.URL + "/ok.pac"}, "PROXY pac.proxy:1", "WPAD found nothing"},
		{"WPAD finds nothing, direct", Settings{From: "X", AutoDetect: true}, "DIRECT", "WPAD found nothing"},
		{"manual bypassed", Settings{From: "X", Proxy: manual, Bypass: Bypass{Rules: []string{"*.lab.test"}}}, "DIRECT", ""},
	}
	for _, c := range cases {
		r := NewResolver(Options{Mode: ModeSystem, System: func(context.Context) Settings { return c.s },
			Domains: func() []string { return []string{"corp.invalid"} }, Lookup: zoneLookup(nil)})
		ch := r.For(context.Background(), "https://connect.lab.test/")
		if ch.String() != c.want || !strings.Contains(ch.Warning, c.warn) || (c.warn == "") != (ch.Warning == "") {
			t.Errorf("%s: %s warning %q, want %s warning %q", c.name, ch, ch.Warning, c.want, c.warn)
		}
	}
}

// TestResolverWPAD: WPAD over DNS finds wpad.DOMAIN for the search domain
// (devolving a.corp.test to corp.test) and fetches http://wpad.corp.test/
// wpad.dat from it, as a browser does. WPAD's URL is on port 80, so the
// server listens on a loopback address of its own: root only.
func TestResolverWPAD(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("WPAD serves on port 80: needs root (CI runs as root)")
	}
	ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), rand.IntN(250), 1+rand.IntN(250))
	ln, err := net.Listen("tcp", ip+":80")
	if err != nil {
		t.Skipf("cannot listen on %s:80: %v", ip, err)
	}
	var host atomic.Value
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host.Store(r.Host + r.URL.Path)
		fmt.Fprint(w, `function FindProxyForURL(u, h) { return "PROXY wpad.proxy:3128; DIRECT"; }`)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	r := NewResolver(Options{Mode: ModePAC, PAC: WPAD,
		Domains: func() []string { return []string{"a.corp.test"} },
		Lookup:  zoneLookup(map[string]string{"wpad.corp.test": ip})})
	ch := r.For(context.Background(), "https://connect.lab.test/")
	if ch.String() != "PROXY wpad.proxy:3128; DIRECT" || ch.Origin != "wpad" || ch.PAC != "http://wpad.corp.test/wpad.dat" {
		t.Fatalf("%s origin %s pac %s warning %q", ch, ch.Origin, ch.PAC, ch.Warning)
	}
	if got := host.Load(); got != "wpad.corp.test/wpad.dat" {
		t.Errorf("fetched %v", got)
	}
}

func TestResolverModes(t *testing.T) {
	fixed, _ := ParseProxyURL("http://user:pw@proxy.corp:3128")
	ch := NewResolver(Options{Mode: ModeFixed, Fixed: fixed}).For(context.Background(), "https://connect.lab.test/")
	if ch.String() != "PROXY proxy.corp:3128" || ch.Origin != "config" || ch.Hops[0].String() != "http://proxy.corp:3128" {
		t.Errorf("fixed: %s %s %s", ch, ch.Origin, ch.Hops[0])
	}
	ch = NewResolver(Options{Mode: ModeNone}).For(context.Background(), "https://connect.lab.test/")
	if ch.Proxied() || ch.Origin != "none" {
		t.Errorf("none: %s", ch)
	}
	ch = NewResolver(Options{Mode: ModeNone}).For(context.Background(), "::not a url")
	if ch.Warning == "" || ch.Proxied() {
		t.Errorf("bad URL: %+v", ch)
	}
}
