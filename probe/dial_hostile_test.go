package probe

import (
	"bytes"
	"io"
	"net"
	"net/url"
	"runtime"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// startHostileProxy is a "proxy" on loopback that reads the CONNECT
// request and answers with head, then repeats fill for ever (until the
// client hangs up, or 4 GiB): an endless status line or header block.
func startHostileProxy(t *testing.T, head, fill string) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acceptEach(t, ln, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		if _, err := c.Read(buf); err != nil { // the CONNECT request
			return
		}
		if _, err := io.WriteString(c, head); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte(fill), 64<<10/len(fill))
		for sent := 0; sent < 4<<30; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}
}

// TestHostileProxyAnswerIsBounded (issue #15 item 4): a proxy that
// answers CONNECT with an endless status line or endless headers costs at
// most maxConnectAnswer of reading, not memory for as long as the answer may
// take. Before the fix each case allocated hundreds of MB (up to ~900 MB
// measured) in the 1.5 s proxyConnectTimeout; the allocation bound here is
// 64 MiB, far above what the bounded read needs (a few MB with the race
// detector) and far below what the unbounded one took.
func TestHostileProxyAnswerIsBounded(t *testing.T) {
	for _, c := range []struct{ name, head, fill string }{
		{"endless status line", "HTTP/1.1 200 ", "A"},
		{"endless headers", "HTTP/1.1 200 Connection established\r\n", "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaa\r\n"},
		{"endless reason of a refusal", "HTTP/1.1 403 ", "no "},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := loopbackEnv(t)
			env.Cfg.Proxy = startHostileProxy(t, c.head, c.fill)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := runProbe(t, tcpConnect, env, webEndpoint(rtcHost, 443))
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %.1f MB", float64(alloc)/1e6)
			wantResult(t, r, Fail, result.PhaseProxy, []string{"more than 64 KiB", "not an HTTP proxy's answer"}, []string{"allow CONNECT"})
			if alloc > 64<<20 {
				t.Errorf("allocated %d MB reading one proxy answer: the read is not bounded", alloc>>20)
			}
		})
	}
}
