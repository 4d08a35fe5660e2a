package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://proxy.corp:3128":                    "http://proxy.corp:3128",
		"http://user:PASS@proxy.corp:3128":          "http://[redacted]@proxy.corp:3128",
		"socks5://user:PASS@proxy:1080":             "socks5://[redacted]@proxy:1080",
		"http://user:P@SS@proxy:3128/x@y":           "http://[redacted]@proxy:3128/x@y",
		"http://us%er:PA ss@[::1":                   "http://[redacted]@[::1",
		"https://tok@ranges.example/ip-ranges.json": "https://[redacted]@ranges.example/ip-ranges.json",
		"turn:user:PASS@turn.example:3478":          "turn:[redacted]@turn.example:3478",
		"user:PASS@proxy:3128":                      "user:[redacted]@proxy:3128",
		"proxy.corp:3128":                           "proxy.corp:3128",
		"":                                          "",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProxy(t *testing.T) {
	for in, want := range map[string]string{
		"http://proxy.corp:3128":          "http://proxy.corp:3128",
		"socks5://user:PASS@proxy:1080":   "socks5://[redacted]@proxy:1080",
		"http://user:P@SS@proxy:3128/x@y": "http://[redacted]@proxy:3128/x@y",
		"user:PASS@proxy:3128":            "[redacted]@proxy:3128",
		"user:P@SS@proxy:3128/x@y":        "[redacted]@proxy:3128/x@y",
		"proxy.corp:3128":                 "proxy.corp:3128",
		"":                                "",
	} {
		if got := Proxy(in); got != want {
			t.Errorf("Proxy(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsed(t *testing.T) {
	u, _ := url.Parse("http://user:PASS@proxy.corp:3128")
	if got := Parsed(u); got != "http://proxy.corp:3128" {
		t.Errorf("Parsed = %q", got)
	}
	if u.User == nil {
		t.Error("Parsed changed its argument")
	}
	if Parsed(nil) != "" {
		t.Error("Parsed(nil) not empty")
	}
}

func TestText(t *testing.T) {
	msg := `config proxy "socks5://user:PASS@10.0.0.1:1080": want http://host:port; also Get "https://a:SECRET@h/x": EOF`
	got := Text(msg)
	for _, secret := range []string{"PASS", "SECRET"} {
		if strings.Contains(got, secret) {
			t.Errorf("Text left %q in %q", secret, got)
		}
	}
	if !strings.Contains(got, "socks5://[redacted]@10.0.0.1:1080") || !strings.Contains(got, "want http://host:port") {
		t.Errorf("Text = %q", got)
	}
	if Text("no credentials: a@b") != "no credentials: a@b" {
		t.Error("Text changed a message without URLs")
	}
}

func FuzzURL(f *testing.F) {
	f.Add("http://user:PASS@proxy:3128")
	f.Add("turn:u:p@h")
	f.Fuzz(func(t *testing.T, s string) {
		// Whatever came before the last '@' of the authority is gone.
		got := URL(s)
		if got != s && !strings.Contains(got, Mark) {
			t.Fatalf("URL(%q) = %q changed without the mark", s, got)
		}
		if got := Proxy(s); got != s && !strings.Contains(got, Mark) {
			t.Fatalf("Proxy(%q) = %q changed without the mark", s, got)
		}
		_ = Text(s)
	})
}
