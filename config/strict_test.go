package config

import (
	"fmt"
	"strings"
	"testing"
)

// buildYAML loads body as a config file and builds it for us-east-1.
func buildYAML(t *testing.T, body string) (*Config, error) {
	t.Helper()
	noEnv(t)
	p := writeFile(t, t.TempDir(), "site.yaml", body)
	f, err := LoadFile(p)
	if err != nil {
		return nil, err
	}
	return Build(f, Overrides{Region: "us-east-1"})
}

// TestProxyPasswordNeverEchoed (issue #15 item 2): a rejected or
// unparsable proxy URL is quoted without its user:password@. Before the
// fix the message was `config proxy "socks5://user:PASS@…": want
// http://host:port`.
func TestProxyPasswordNeverEchoed(t *testing.T) {
	const pw = "Pr0xyPa55"
	for _, proxy := range []string{
		"socks4://user:" + pw + "@127.0.0.1:1080", // a scheme the tool does not speak
		"http://user:" + pw + "@[::1",             // does not parse
		"http://user:" + pw + "@proxy corp:3128",  // does not parse either
		"ftp://" + pw + "@proxy:21",
	} {
		_, err := buildYAML(t, fmt.Sprintf("proxy: %q\n", proxy))
		if err == nil {
			t.Errorf("proxy %q accepted", proxy)
			continue
		}
		if !IsInput(err) || strings.Contains(err.Error(), pw) {
			t.Errorf("proxy %q: error %q shows the password (or is not an input error)", proxy, err)
		}
		if !strings.Contains(err.Error(), "[redacted]@") {
			t.Errorf("proxy %q: error %q does not say what was removed", proxy, err)
		}
	}
	// A password anywhere a YAML type error quotes the value.
	_, err := buildYAML(t, "ca_files: \"https://u:"+pw+"@h/ca.pem\"\n")
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("a YAML error quoted the password: %v", err)
	}
	// The ranges URL, the instance URL: the same.
	_, err = Build(nil, Overrides{Region: "us-east-1", Instance: "https://u:" + pw + "@x.my.connect.aws/"})
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("--instance with a password: %v", err)
	}
	// A good proxy with credentials is kept whole (it is used for CONNECT).
	c, err := buildYAML(t, "proxy: http://user:"+pw+"@proxy.corp:3128\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyAuth.Password.Reveal() != pw || c.Proxy.User != nil {
		t.Errorf("the configured proxy's password is not kept apart (ProxyAuth) from its URL: %v", c.Proxy)
	}
}

// TestThresholdsFiniteAndInRange (issue #15 item 6): NaN and ±Inf (YAML
// .nan, .inf) and values outside what can be measured are refused with
// exit 2. Before the fix .nan passed every check whatever was measured and
// broke --format json after the run.
func TestThresholdsFiniteAndInRange(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"thresholds: {rtt_ms: {warn: .nan, fail: 400}}", "thresholds.rtt_ms: warn NaN fail 400: want finite numbers"},
		{"thresholds: {rtt_ms: {warn: 200, fail: .inf}}", "thresholds.rtt_ms: warn 200 fail +Inf: want finite numbers"},
		{"thresholds: {jitter_ms: {warn: -.inf, fail: 50}}", "want finite numbers"},
		{"thresholds: {loss_ratio: {warn: .NaN, fail: .NaN}}", "want finite numbers"},
		{"thresholds: {mos: {warn: .nan, fail: 3.1}}", "thresholds.mos: warn NaN"},
		{"thresholds: {mos: {warn: 3.6, fail: .nan}}", "want finite numbers"},
		{"thresholds: {loss_ratio: {warn: 0.5, fail: 2}}", "want 0 ≤ warn ≤ fail ≤ 1"},
		{"thresholds: {rtt_ms: {warn: 200, fail: 1e9}}", "want 0 ≤ warn ≤ fail ≤ 10000"},
		{"thresholds: {jitter_ms: {warn: -1, fail: 50}}", "want 0 ≤ warn ≤ fail"},
		{"thresholds: {mos: {warn: 6, fail: 3}}", "want 1 ≤ fail ≤ warn ≤ 5"},
	} {
		_, err := buildYAML(t, c.yaml+"\n")
		if err == nil || !IsInput(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want an input error containing %q", c.yaml, err, c.want)
		}
	}
	if _, err := buildYAML(t, "thresholds: {rtt_ms: {warn: 0, fail: 10000}, loss_ratio: {warn: 0, fail: 1}, mos: {warn: 5, fail: 1}}\n"); err != nil {
		t.Errorf("limits at the bounds refused: %v", err)
	}
}

// TestStrictValues (issue #15 item 9): the resolver and the hosts of
// endpoints and TURN URLs are validated as documented. Before the fix
// "::::", a DoH URL and "turn:[::1:3478" passed and failed at run time.
func TestStrictValues(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{`resolver: "::::"`, `config resolver "::::": not an IP address or host:port`},
		{`resolver: https://dns.example/dns-query`, "DNS over HTTPS) is not supported"},
		{`resolver: "[::1"`, "unbalanced '['"},
		{`resolver: "10.0.0.53:0"`, "bad port"},
		{`resolver: "10.0.0.53:53x"`, "bad port"},
		{`resolver: "dns server"`, "not a host name or IP address"},
		{`resolver: "[10.0.0.53]:53"`, "not an IPv6 address"},
		{`turn_servers: ["[::1:3478"]`, "unbalanced '['"},
		{`turn_servers: ["::1:3478:x"]`, "needs brackets"},
		{`https_endpoints: ["host]:443"]`, "unbalanced ']'"},
		{`https_endpoints: ["a..b:443"]`, "not a host name"},
		{`https_endpoints: ["h:+443"]`, "bad port"},
	} {
		_, err := buildYAML(t, c.yaml+"\n")
		if err == nil || !IsInput(err) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", c.yaml, err, c.want)
		}
	}
	for yaml, want := range map[string]string{
		`resolver: 10.0.0.53`:           "10.0.0.53:53",
		`resolver: "10.0.0.53:5353"`:    "10.0.0.53:5353",
		`resolver: "::1"`:               "[::1]:53",
		`resolver: "[::1]"`:             "[::1]:53",
		`resolver: "[::1]:5353"`:        "[::1]:5353",
		`resolver: dns.corp.example.`:   "dns.corp.example.:53",
		`resolver: "ns_1.corp.example"`: "ns_1.corp.example:53",
	} {
		c, err := buildYAML(t, yaml+"\n")
		if err != nil || c.Resolver != want {
			t.Errorf("%s: resolver %q, %v; want %q", yaml, resolverOf(c), err, want)
		}
	}
	for _, c := range []struct{ url, want string }{
		{"turn:[::1:3478", "unbalanced '['"},
		{"turn:::1", "needs brackets"},
		{"turn:[::1]x", "unexpected"},
		{"turn:[h]:3478", "not an IPv6 address"},
		{"turn:h]:3478", "unbalanced ']'"},
		{"turn:bad host:3478", "not a host name"},
	} {
		if _, err := ParseTURNURL(c.url); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTURNURL(%q) error %v, want %q", c.url, err, c.want)
		}
	}
}

func resolverOf(c *Config) string {
	if c == nil {
		return ""
	}
	return c.Resolver
}

// TestTargetCaps (issue #15 item 5): more ICE servers, URLs or endpoints
// than a real run could use are an input error, not a run that blows its
// deadline (before: 1,000 ICE entries took 11.6 s at --timeout 3s; 10,000
// never finished).
func TestTargetCaps(t *testing.T) {
	entry := `{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"u","credential":"c"}`
	many := "[" + strings.TrimSuffix(strings.Repeat(entry+",", MaxICEServers+1), ",") + "]"
	if _, err := ParseICEServers([]byte(many), "ice.json"); err == nil || !strings.Contains(err.Error(), "9 entries: at most 8") {
		t.Errorf("%d ICE entries: %v", MaxICEServers+1, err)
	}
	ok := "[" + strings.TrimSuffix(strings.Repeat(entry+",", MaxICEServers), ",") + "]"
	if _, err := ParseICEServers([]byte(ok), "ice.json"); err != nil {
		t.Errorf("%d ICE entries refused: %v", MaxICEServers, err)
	}
	urls := `[{"urls":[` + strings.TrimSuffix(strings.Repeat(`"turn:h:3478",`, MaxICEURLs+1), ",") + `],"username":"u","credential":"c"}]`
	if _, err := ParseICEServers([]byte(urls), "ice.json"); err == nil || !strings.Contains(err.Error(), "17 URLs: at most 16") {
		t.Errorf("%d ICE URLs: %v", MaxICEURLs+1, err)
	}
	list := func(n int, port string) string {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"h%d.example:%s"`, i, port)
		}
		return b.String() + "]"
	}
	if _, err := buildYAML(t, "https_endpoints: "+list(MaxHTTPSEndpoints+1, "443")+"\n"); err == nil || !strings.Contains(err.Error(), "at most 32") {
		t.Errorf("too many https_endpoints: %v", err)
	}
	if _, err := buildYAML(t, "turn_servers: "+list(MaxTURNServers+1, "3478")+"\n"); err == nil || !strings.Contains(err.Error(), "at most 16") {
		t.Errorf("too many turn_servers: %v", err)
	}
	if _, err := buildYAML(t, "https_endpoints: "+list(MaxHTTPSEndpoints, "443")+"\nturn_servers: "+list(MaxTURNServers, "3478")+"\n"); err != nil {
		t.Errorf("lists at the caps refused: %v", err)
	}
}
