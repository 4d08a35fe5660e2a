package sysproxy

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// testHost answers dnsResolve from a fixed zone, like a lab resolver.
func testHost() PACHost {
	zone := map[string][]netip.Addr{
		"connect.lab.test": {netip.MustParseAddr("203.0.113.20")},
		"intranet.corp":    {netip.MustParseAddr("10.1.2.3")},
		"v6only.lab.test":  {netip.MustParseAddr("2001:db8::1")},
	}
	return PACHost{
		Lookup: func(_ context.Context, h string) ([]netip.Addr, error) {
			if a, ok := zone[h]; ok {
				return a, nil
			}
			return nil, errors.New("nxdomain")
		},
		MyIP: func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("10.99.1.2")} },
		Now:  func() time.Time { return time.Date(2026, 12, 2, 14, 30, 0, 0, time.UTC) }, // a Wednesday
	}
}

func compile(t *testing.T, src string) *PAC {
	t.Helper()
	p, err := CompilePAC(context.Background(), "test.pac", []byte(src), testHost(), PACLimits{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

// TestPACHelpers: the standard helper functions answer as browsers' do, so
// a corporate PAC picks the same proxy here as in the agent's browser.
func TestPACHelpers(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`isPlainHostName("intranet")`, "true"},
		{`isPlainHostName("intranet.corp")`, "false"},
		{`dnsDomainIs("connect.lab.test", ".lab.test")`, "true"},
		{`dnsDomainIs("connect.lab.test", ".corp")`, "false"},
		{`localHostOrDomainIs("www", "www.corp.com")`, "true"},
		{`localHostOrDomainIs("www.corp.com", "www.corp.com")`, "true"},
		{`localHostOrDomainIs("home", "www.corp.com")`, "false"},
		{`dnsDomainLevels("a.b.c")`, "2"},
		{`shExpMatch("connect.lab.test", "*.lab.test")`, "true"},
		{`shExpMatch("connect.lab.test", "connect.lab.?est")`, "true"},
		{`shExpMatch("connect.lab.test", "*.corp")`, "false"},
		{`shExpMatch("a.b", "a[.]b")`, "false"}, // [ is literal, not a class
		{`dnsResolve("connect.lab.test")`, "203.0.113.20"},
		{`dnsResolve("v6only.lab.test")`, "null"},
		{`dnsResolve("nope.lab.test")`, "null"},
		{`dnsResolveEx("v6only.lab.test")`, "2001:db8::1"},
		{`isResolvable("connect.lab.test")`, "true"},
		{`isResolvable("nope.lab.test")`, "false"},
		{`isInNet("intranet.corp", "10.0.0.0", "255.0.0.0")`, "true"},
		{`isInNet("connect.lab.test", "10.0.0.0", "255.0.0.0")`, "false"},
		{`isInNet("10.9.9.9", "10.0.0.0", "255.0.0.0")`, "true"},
		{`isInNet("nope.lab.test", "10.0.0.0", "255.0.0.0")`, "false"},
		{`isInNetEx("2001:db8::1", "2001:db8::/32")`, "true"},
		{`myIpAddress()`, "10.99.1.2"},
		{`sortIpAddressList("10.0.0.2;10.0.0.1")`, "10.0.0.1;10.0.0.2"},
		{`convert_addr("10.0.0.1") == (10 << 24 | 1)`, "true"},
		{`weekdayRange("MON", "FRI", "GMT")`, "true"},
		{`weekdayRange("SAT", "SUN", "GMT")`, "false"},
		{`weekdayRange("WED", "GMT")`, "true"},
		{`timeRange(9, 17, "GMT")`, "true"},
		{`timeRange(14, 30, 14, 45, "GMT")`, "true"},
		{`timeRange(15, "GMT")`, "false"},
		{`timeRange(22, 6, "GMT")`, "false"},
		{`dateRange("DEC", "GMT")`, "true"},
		{`dateRange("NOV", "FEB", "GMT")`, "true"},
		{`dateRange(1, 15, "GMT")`, "true"},
		{`dateRange(2026, "GMT")`, "true"},
		{`dateRange(1, "JAN", 2027, 31, "DEC", 2027, "GMT")`, "false"},
	}
	p := compile(t, `function FindProxyForURL(url, host) { return "DIRECT"; }`)
	for _, c := range cases {
		// Each helper as FindProxyForURL would call it: inside an evaluation.
		var got string
		err := p.eval(context.Background(), "test", func() (goja.Value, error) {
			v, err := p.vm.RunString("String(" + c.expr + ")")
			if err == nil {
				got = v.String()
			}
			return v, err
		})
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %s, want %s", c.expr, got, c.want)
		}
	}
}

// TestPACPerHost: a PAC that sends each host its own way gives each its
// own hop list, in the PAC's order.
func TestPACPerHost(t *testing.T) {
	p := compile(t, `
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";
  if (shExpMatch(host, "*.transport.connect.*.amazonaws.com")) return "DIRECT";
  if (dnsDomainIs(host, ".lab.test")) return "PROXY a.corp:3128; PROXY b.corp:3128; DIRECT";
  return "HTTPS secure.corp; SOCKS5 socks.corp:1080";
}`)
	for host, want := range map[string]string{
		"intranet":      "DIRECT",
		"intranet.corp": "DIRECT",
		"abc.transport.connect.us-east-1.amazonaws.com": "DIRECT",
		"connect.lab.test": "PROXY a.corp:3128; PROXY b.corp:3128; DIRECT",
		"example.com":      "HTTPS secure.corp:443; SOCKS5 socks.corp:1080",
	} {
		hops, err := p.FindProxy(context.Background(), "https://"+host+"/", host)
		if err != nil {
			t.Errorf("%s: %v", host, err)
			continue
		}
		if got := (Choice{Hops: hops}).String(); got != want {
			t.Errorf("%s: %s, want %s", host, got, want)
		}
	}
}

// TestPACBad: a PAC that does not parse, loops, recurses, allocates
// without end or returns garbage gives a one-line *PACError naming the PAC
// and the problem, in bounded time: never a hang, never a crash.
func TestPACBad(t *testing.T) {
	lim := PACLimits{Time: 300 * time.Millisecond, Memory: 32 << 20}
	cases := []struct {
		name, src, want string
		atLoad          bool
	}{
		{"syntax", `function FindProxyForURL(url, host) { return "DIRECT" `, "does not parse", true},
		{"empty", "  \n", "is empty", true},
		{"no function", `var x = 1;`, "defines no FindProxyForURL", true},
		{"throws at load", `throw new Error("boom");`, "failed loading it: Error: boom", true},
		{"loop at load", `while (true) {}`, "ran past its time limit", true},
		{"loop", `function FindProxyForURL(u, h) { for (;;) {} }`, "ran past its time limit", false},
		{"recursion", `function FindProxyForURL(u, h) { return FindProxyForURL(u, h); }`, "failed in FindProxyForURL", false},
		{"array growth", `function FindProxyForURL(u, h) { var a = []; for (;;) a.push({x: a.length, y: "yyyyyyyyyyyyyyyy" + a.length}); }`, "", false},
		{"string doubling", `function FindProxyForURL(u, h) { var s = "x"; for (;;) s = s + s; }`, "", false},
		{"repeat", `function FindProxyForURL(u, h) { return "x".repeat(1e9); }`, "more memory than a PAC may use", false},
		{"pad", `function FindProxyForURL(u, h) { return "x".padEnd(1e9); }`, "more memory than a PAC may use", false},
		{"join", `function FindProxyForURL(u, h) { var a = []; a.length = 4e9; return a.join("x"); }`, "more memory than a PAC may use", false},
		{"typed array", `function FindProxyForURL(u, h) { return String(new ArrayBuffer(1e9)); }`, "ArrayBuffer", false},
		{"garbage", `function FindProxyForURL(u, h) { return "GO FAST"; }`, "returned garbage", false},
		{"bad port", `function FindProxyForURL(u, h) { return "PROXY p:99999"; }`, "returned garbage", false},
		{"number", `function FindProxyForURL(u, h) { return 42; }`, "not a string", false},
		{"undefined", `function FindProxyForURL(u, h) { }`, "not a proxy list", false},
		{"empty string", `function FindProxyForURL(u, h) { return ""; }`, "returned garbage", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			p, err := CompilePAC(context.Background(), "http://pac.corp/proxy.pac", []byte(c.src), testHost(), lim)
			if err == nil {
				if c.atLoad {
					t.Fatalf("compiled, want an error at load")
				}
				_, err = p.FindProxy(context.Background(), "https://connect.lab.test/", "connect.lab.test")
			}
			if err == nil {
				t.Fatal("no error")
			}
			var pe *PACError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T, want *PACError: %v", err, err)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, "the PAC http://pac.corp/proxy.pac ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the PAC", msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q, want it to say %q", msg, c.want)
			}
			if c.name == "array growth" || c.name == "string doubling" {
				if !strings.Contains(msg, "memory") && !strings.Contains(msg, "time limit") {
					t.Errorf("error %q: want the memory or time limit", msg)
				}
			}
			// Bounded: the limit plus the abandon grace, with room for a
			// loaded machine (this bounds a hang, it does not time a speed).
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestPACTooBig: a script over MaxPACSize is refused before it runs.
func TestPACTooBig(t *testing.T) {
	_, err := CompilePAC(context.Background(), "big.pac", make([]byte, MaxPACSize+1), testHost(), PACLimits{})
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err = %v", err)
	}
}

// TestPACCancelled: a run that ends stops a PAC at once.
func TestPACCancelled(t *testing.T) {
	p := compile(t, `function FindProxyForURL(u, h) { for (;;) {} }`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := p.FindProxy(ctx, "https://x/", "x")
	if err == nil || !strings.Contains(err.Error(), "did not answer before the check's time ran out") {
		t.Fatalf("err = %v", err)
	}
}

// TestPACDeadAfterLimit: a PAC stopped at its time limit is not run again
// for the next URL (each would wait out the limit): the next call gets the
// same answer at once, even with no time left.
func TestPACDeadAfterLimit(t *testing.T) {
	p, err := CompilePAC(context.Background(), "loop.pac", []byte(`function FindProxyForURL(u, h) { for (;;) {} }`), testHost(), PACLimits{Time: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := p.FindProxy(context.Background(), "https://a/", "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err2 := p.FindProxy(ctx, "https://b/", "b")
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || !strings.Contains(err2.Error(), "time limit") {
		t.Fatalf("first %v, second %v", err1, err2)
	}
}

func TestParsePACResult(t *testing.T) {
	ok := map[string]string{
		"DIRECT":                     "DIRECT",
		"  proxy a:1 ;; direct ":     "PROXY a:1; DIRECT",
		"PROXY a":                    "PROXY a:80",
		"HTTPS h":                    "HTTPS h:443",
		"PROXY [2001:db8::1]:8080":   "PROXY [2001:db8::1]:8080",
		"SOCKS s:1080; SOCKS5 t":     "SOCKS s:1080; SOCKS5 t:1080",
		"PROXY a:1;PROXY b:2;DIRECT": "PROXY a:1; PROXY b:2; DIRECT",
	}
	for in, want := range ok {
		hops, err := ParsePACResult(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := (Choice{Hops: hops}).String(); got != want {
			t.Errorf("%q = %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"", ";", "GO a:1", "PROXY", "PROXY a:b", "PROXY a:0", "DIRECT x", "PROXY a:1 b", "PROXY u@a:1", strings.Repeat("DIRECT;", 20)} {
		if hops, err := ParsePACResult(in); err == nil {
			t.Errorf("%q: parsed as %v, want an error", in, hops)
		}
	}
}

// BenchmarkPACFindProxy is one FindProxyForURL of a typical corporate
// PAC (host tests, one dnsResolve through a cached resolver, isInNet):
// the cost per endpoint of a run.
func BenchmarkPACFindProxy(b *testing.B) {
	p, err := CompilePAC(context.Background(), "bench.pac", []byte(`function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example")) return "DIRECT";
  if (shExpMatch(host, "*.transport.connect.*.amazonaws.com")) return "DIRECT";
  if (isInNet(dnsResolve(host), "10.0.0.0", "255.0.0.0")) return "DIRECT";
  return "PROXY a.corp.example:3128; PROXY b.corp.example:3128; DIRECT";
}`), testHost(), PACLimits{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.FindProxy(context.Background(), "https://connect.lab.test/", "connect.lab.test"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPACCompile is loading that PAC: once per run.
func BenchmarkPACCompile(b *testing.B) {
	src := []byte(perHostPAC)
	for b.Loop() {
		if _, err := CompilePAC(context.Background(), "bench.pac", src, testHost(), PACLimits{}); err != nil {
			b.Fatal(err)
		}
	}
}
