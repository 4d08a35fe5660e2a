package probe

import (
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/browserpolicy"
	"github.com/ccp-preflight/ccp-preflight/lab"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// withPolicies makes the run read bs as the browsers' policies.
func withPolicies(t *testing.T, bs ...browserpolicy.Browser) {
	t.Helper()
	old := readPolicies
	readPolicies = func() []browserpolicy.Browser { return bs }
	t.Cleanup(func() { readPolicies = old })
}

// policy builds a browser's policies as read from one source.
func policy(name, source string, kv ...any) browserpolicy.Browser {
	b := browserpolicy.Browser{Name: name, Values: map[string]any{}, Sources: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		b.Values[kv[i].(string)], b.Sources[kv[i].(string)] = kv[i+1], source
	}
	return b
}

func runPolicy(t *testing.T, env *Env) []Result {
	t.Helper()
	var out []Result
	for _, tg := range browserPolicy.Targets(env.Cfg) {
		r := browserPolicy.Run(t.Context(), env, tg)
		r.Target = tg.Name
		out = append(out, r)
	}
	return out
}

// TestBrowserPolicy: WebRtcIPHandling disable_non_proxied_udp fails the
// browser (calls cannot reach UDP-only TURN), naming the policy, where it
// is set and what to set instead; harmless policies pass; no policies is
// one pass.
func TestBrowserPolicy(t *testing.T) {
	env := envFor("")
	withPolicies(t)
	rs := runPolicy(t, env)
	if len(rs) != 1 || rs[0].Status != Pass || !strings.Contains(rs[0].Reason, "no managed policy") {
		t.Fatalf("no policies: %+v", rs)
	}
	const src = `HKLM\Software\Policies\Google\Chrome`
	withPolicies(t,
		policy("Google Chrome", src, browserpolicy.WebRtcIPHandling, "disable_non_proxied_udp", browserpolicy.WebRtcUdpPortRange, "10000-10999"),
		policy("Microsoft Edge", "/etc/opt/edge/policies/managed/p.json", browserpolicy.WebRtcIPHandling, "default_public_interface_only"),
	)
	rs = runPolicy(t, env)
	if len(rs) != 2 {
		t.Fatalf("results %+v", rs)
	}
	wantResult(t, rs[0], Fail, result.PhasePolicy,
		[]string{"Google Chrome's policy WebRtcIPHandling = disable_non_proxied_udp (" + src + ")", "UDP 3478 only", "every softphone call fails"},
		[]string{"set WebRtcIPHandling to default_public_interface_only (or remove it)", src})
	if rs[0].Details["WebRtcUdpPortRange"] != "10000-10999 ("+src+")" {
		t.Errorf("details %v", rs[0].Details)
	}
	wantResult(t, rs[1], Pass, "", []string{"Microsoft Edge's policies do not stop softphone calls", "relay-only softphone call"}, nil)
}

// TestBrowserProxyPolicyIsFollowed: a browser's proxy policy overrides
// the system settings in that browser, so the run follows it too.
func TestBrowserProxyPolicyIsFollowed(t *testing.T) {
	noEnvProxy(t)
	t.Setenv("HTTPS_PROXY", "http://system.proxy:1")
	withPolicies(t, policy("Google Chrome", "/etc/opt/chrome/policies/managed/proxy.json",
		browserpolicy.ProxyMode, "fixed_servers", browserpolicy.ProxyServer, "policy.proxy:3128"))
	env := envFor(startDNS(t, lab.DNSOptions{}).Addr)
	r := runProbe(t, envProxy, env, webEndpoint("participant.connect.us-east-1.amazonaws.com", 443))
	wantResult(t, r, Pass, "", []string{"through the proxy http://policy.proxy:3128", "Google Chrome's proxy policy (/etc/opt/chrome/policies/managed/proxy.json)"}, nil)
	rs := runPolicy(t, env)
	wantResult(t, rs[0], Pass, "", []string{"uses its policy's proxy settings, not the system's: the proxy http://policy.proxy:3128"}, nil)
}
