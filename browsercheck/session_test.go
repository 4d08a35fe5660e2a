package browsercheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// page plays the page's part with a real HTTP client against a real
// Session on 127.0.0.1.
type page struct {
	t *testing.T
	s *Session
}

func (p page) do(method, path string, hdr map[string]string, body string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(method, "http://"+p.s.host+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

const goodAnswer = `{"version":1,"support":{"user_agent":"Mozilla/5.0 Chrome/156.0.0.0","brands":[{"brand":"Chromium","version":"156"}],"secure_context":true,"rtc_peer_connection":true,"get_user_media":true},"errors":[]}`

func testPage() PageConfig {
	return PageConfig{
		STUN:       []string{"stun:127.0.0.1:3478"},
		ICEServers: []ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp"}, Username: "user-XYZ", Credential: "secret-cred-123"}},
		Duration:   time.Second,
	}
}

// TestRequestsRefused: only the page's own requests, with the token, to
// 127.0.0.1:PORT, from its own origin, once each, are served. Everything
// else is refused and no refused result reaches Wait.
func TestRequestsRefused(t *testing.T) {
	s, err := Start(Options{Page: testPage(), Wait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := page{t, s}
	tok := "/" + s.token
	origin := map[string]string{"Origin": s.origin, "Content-Type": "application/json"}
	evil := map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"}
	cfgHdr := map[string]string{"X-Preflight": "1", "Sec-Fetch-Site": "same-origin"}

	refused := []struct {
		name, method, path string
		hdr                map[string]string
		body               string
	}{
		{"page without the token", "GET", "/", nil, ""},
		{"result without the token", "POST", "/result", origin, goodAnswer},
		{"result with a wrong token", "POST", "/" + strings.Repeat("0", len(s.token)) + "/result", origin, goodAnswer},
		{"config with a wrong token", "GET", "/" + s.token[:len(s.token)-1] + "x/config", cfgHdr, ""},
		{"page by another host name (DNS rebinding)", "GET", tok + "/", map[string]string{"Host": "evil.example:80"}, ""},
		{"config without the page's header", "GET", tok + "/config", nil, ""},
		{"config from another site", "GET", tok + "/config", map[string]string{"X-Preflight": "1", "Sec-Fetch-Site": "cross-site"}, ""},
		{"result before the page read its config", "POST", tok + "/result", origin, goodAnswer},
		{"unknown path", "GET", tok + "/../etc/passwd", nil, ""},
	}
	for _, c := range refused {
		if code, _ := p.do(c.method, c.path, c.hdr, c.body); code < 400 {
			t.Errorf("%s: HTTP %d, want refused", c.name, code)
		}
	}
	// The page itself, with its CSP.
	code, body := p.do("GET", tok+"/", nil, "")
	if code != 200 || !strings.Contains(body, "browser.microphone") {
		t.Fatalf("page: HTTP %d %.100s", code, body)
	}
	// The config, once, with the credentials for the page.
	code, body = p.do("GET", tok+"/config", cfgHdr, "")
	if code != 200 || !strings.Contains(body, "secret-cred-123") {
		t.Fatalf("config: HTTP %d %.200s", code, body)
	}
	var set map[string]any
	if err := json.Unmarshal([]byte(body), &set); err != nil || set["budget_ms"].(float64) <= 0 {
		t.Errorf("config %v: %v", set, err)
	}
	if code, body = p.do("GET", tok+"/config", cfgHdr, ""); code != http.StatusGone || strings.Contains(body, "secret") {
		t.Errorf("second config: HTTP %d %q, want 410 without credentials", code, body)
	}
	// Results from another origin, malformed ones, and the wrong type are refused.
	for name, c := range map[string]struct {
		hdr  map[string]string
		body string
	}{
		"another origin":    {evil, goodAnswer},
		"no origin":         {map[string]string{"Content-Type": "application/json"}, goodAnswer},
		"text/plain":        {map[string]string{"Origin": s.origin, "Content-Type": "text/plain"}, goodAnswer},
		"malformed":         {origin, `{"version":1,`},
		"unknown field":     {origin, `{"version":1,"surprise":true}`},
		"wrong version":     {origin, `{"version":2}`},
		"too large":         {origin, `{"version":1,"errors":["` + strings.Repeat("x", MaxAnswerBytes) + `"]}`},
		"out-of-range peak": {origin, `{"version":1,"microphone":{"peak":-3}}`},
	} {
		if code, _ := p.do("POST", tok+"/result", c.hdr, c.body); code < 400 {
			t.Errorf("result from %s: HTTP %d, want refused", name, code)
		}
	}
	select {
	case <-s.done:
		t.Fatal("a refused request delivered an answer")
	default:
	}
	// The page's own result is taken, once.
	if code, body := p.do("POST", tok+"/result", origin, goodAnswer); code != http.StatusNoContent {
		t.Fatalf("result: HTTP %d %s", code, body)
	}
	if code, _ := p.do("POST", tok+"/result", origin, strings.Replace(goodAnswer, "156", "120", 1)); code != http.StatusConflict {
		t.Errorf("second result: HTTP %d, want 409", code)
	}
	a, err := s.Wait(context.Background())
	if err != nil || a.Support == nil || a.Support.Brands[0].Version != "156" {
		t.Fatalf("Wait: %+v %v", a, err)
	}
	if s.Refused() < len(refused) {
		t.Errorf("Refused() = %d, want at least %d", s.Refused(), len(refused))
	}
}

// TestPageHeaders: every response carries the strict CSP, and the
// embedded page loads nothing from anywhere else and has no inline script.
func TestPageHeaders(t *testing.T) {
	s, err := Start(Options{Page: testPage(), Wait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, f := range []string{"", "page.js", "page.css"} {
		res, err := http.Get(s.URL() + f)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") != CSP || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%q: HTTP %d, CSP %q", f, res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
	}
	if !strings.Contains(CSP, "default-src 'none'") || strings.Contains(CSP, "unsafe") {
		t.Errorf("CSP is not strict: %s", CSP)
	}
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(|@import|https?://`)
	inline := regexp.MustCompile(`(?is)<script(?:[^>]*)>\s*[^<\s]|\son[a-z]+\s*=`)
	for _, f := range []string{"page/index.html", "page/page.js", "page/page.css"} {
		b, _ := pageFS.ReadFile(f)
		if m := external.Find(b); m != nil {
			t.Errorf("%s refers to something outside the page: %q", f, m)
		}
		if strings.HasSuffix(f, ".html") {
			if m := inline.Find(b); m != nil {
				t.Errorf("%s has inline script: %q", f, m)
			}
		}
	}
}

// TestNoAnswer: a browser that never loads the page, or loads it and never
// answers, ends in a NoAnswer saying how far it got, at the deadline —
// never a hang.
func TestNoAnswer(t *testing.T) {
	s, err := Start(Options{Page: testPage(), Wait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = s.Wait(context.Background())
	var na *NoAnswer
	if !errors.As(err, &na) || !strings.Contains(na.Reason, "did not load the check page") {
		t.Errorf("never loaded: %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("Wait took %v past a 300 ms deadline", time.Since(start))
	}

	s2, err := Start(Options{Page: testPage(), Wait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	p := page{t, s2}
	p.do("GET", "/"+s2.token+"/", nil, "")
	p.do("GET", "/"+s2.token+"/config", map[string]string{"X-Preflight": "1"}, "")
	if _, err = s2.Wait(context.Background()); !errors.As(err, &na) || !strings.Contains(na.Reason, "sent no results") {
		t.Errorf("loaded, no answer: %v", err)
	}
	// A browser command that cannot start is named.
	s3, err := Start(Options{Page: testPage(), Wait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if err := s3.Open("/nonexistent/browser --headless"); err == nil {
		t.Error("Open of a missing program: no error")
	}
	if _, err = s3.Wait(context.Background()); err == nil || !strings.Contains(err.Error(), "could not be started") {
		t.Errorf("missing browser: %v", err)
	}
}

// TestPageConfigString: printing a PageConfig never shows a credential.
func TestPageConfigString(t *testing.T) {
	c := testPage()
	for _, s := range []string{c.String(), strings.ReplaceAll(strings.TrimSpace(fmtV(c)), "\n", " ")} {
		if strings.Contains(s, "secret-cred-123") || strings.Contains(s, "user-XYZ") {
			t.Errorf("credential printed: %s", s)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		"chromium --headless --x=1":                         {"chromium", "--headless", "--x=1"},
		`"C:\Program Files\Google\chrome.exe" --new-window`: {`C:\Program Files\Google\chrome.exe`, "--new-window"},
		`sh -c 'mount --bind a b && exec "$@"' sh chromium`: {"sh", "-c", `mount --bind a b && exec "$@"`, "sh", "chromium"},
		"  firefox  ": {"firefox"},
		`a "" b`:      {"a", "", "b"},
	} {
		got, err := SplitCommand(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", `chrome "unterminated`} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q): no error", bad)
		}
	}
	for goos, want := range map[string]string{"linux": "xdg-open", "freebsd": "xdg-open", "darwin": "open", "windows": "rundll32 url.dll,FileProtocolHandler"} {
		if got := strings.Join(DefaultOpener(goos), " "); got != want {
			t.Errorf("DefaultOpener(%s) = %q, want %q", goos, got, want)
		}
	}
	if !headless([]string{"chromium", "--headless=new"}) || headless([]string{"firefox", "--new-tab"}) {
		t.Error("headless() misreads the flags")
	}
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(goodAnswer))
	f.Add([]byte(`{"version":1,"udp":{"servers":[{"url":"stun:a:3478","srflx":["1.2.3.4:5"],"errors":[{"code":701,"text":"t","url":"u"}],"complete":true}]},"relay":[{"outcome":"connected","jitter_ms":-1,"rtt_ms":3}]}`))
	f.Add([]byte(`{"version":1,"microphone":{"outcome":"denied","devices":-1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAnswer(b)
		if err != nil {
			if !errors.Is(err, ErrAnswer) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: not one line wrapping ErrAnswer", err)
			}
			return
		}
		if a.Version != AnswerVersion {
			t.Fatalf("accepted version %d", a.Version)
		}
	})
}

func fmtV(c PageConfig) string { return fmt.Sprintf("%v %+v %s", c, c, c) }
