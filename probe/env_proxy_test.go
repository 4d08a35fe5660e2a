package probe

import (
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestEnvProxyNamesThePath(t *testing.T) {
	env := loopbackEnv(t)
	r := runProbe(t, envProxy, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Pass, "", []string{"direct: no proxy configured"}, nil)

	t.Setenv("HTTPS_PROXY", "http://user:s3cret-pw@proxy.corp.example:3128")
	t.Setenv("NO_PROXY", ".cloudfront.net")
	r = runProbe(t, envProxy, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Warn, result.PhaseProxy, []string{"signaling WebSocket", "http://proxy.corp.example:3128"}, []string{"exempt " + rtcHost + " from the proxy"})
	r2 := runProbe(t, envProxy, env, webEndpoint("dd401jc05x2yk.cloudfront.net", 443))
	wantResult(t, r2, Pass, "", []string{"NO_PROXY exempts dd401jc05x2yk.cloudfront.net"}, nil)
	r3 := runProbe(t, envProxy, env, webEndpoint("participant.connect.us-east-1.amazonaws.com", 443))
	wantResult(t, r3, Pass, "", []string{"through the proxy http://proxy.corp.example:3128 (from the HTTPS_PROXY"}, nil)
	for _, x := range []Result{r, r2, r3} {
		if s := x.Reason + x.Remedy + x.Details["proxy"]; strings.Contains(s, "s3cret") || strings.Contains(s, "user:") {
			t.Errorf("proxy credentials leaked: %q", s)
		}
	}
	env.Cfg.Lab = true
	r = runProbe(t, envProxy, env, webEndpoint(rtcHost, 443))
	wantResult(t, r, Pass, "", []string{"lab mode ignores HTTPS_PROXY"}, nil)
}
