package config

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserSettings: `browser: true` or --browser switches the browser
// check on; --browser-cmd and --browser-timeout need it; the timeout is
// bounded; without it the checks are off.
func TestBrowserSettings(t *testing.T) {
	f, err := ParseFile([]byte("region: us-east-1\nbrowser: true\n"), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(f, Overrides{})
	if err != nil || !c.Browser.Enabled || c.Browser.Timeout != DefaultBrowserTimeout {
		t.Fatalf("browser: true: %+v %v", c.Browser, err)
	}
	c, err = Build(nil, Overrides{Region: "us-east-1", Browser: true, BrowserCmd: "chromium --headless", BrowserTimeout: Given(20 * time.Second)})
	if err != nil || !c.Browser.Enabled || c.Browser.Cmd != "chromium --headless" || c.Browser.Timeout != 20*time.Second {
		t.Fatalf("flags: %+v %v", c.Browser, err)
	}
	if c, err := Build(nil, Overrides{Region: "us-east-1"}); err != nil || c.Browser.Enabled {
		t.Fatalf("default: %+v %v", c.Browser, err)
	}
	for _, o := range []Overrides{
		{Region: "us-east-1", BrowserCmd: "firefox"},
		{Region: "us-east-1", Browser: true, BrowserTimeout: Given(time.Second)},
		{Region: "us-east-1", Browser: true, BrowserTimeout: Given(time.Hour)},
	} {
		if _, err := Build(nil, o); err == nil || !IsInput(err) || !strings.Contains(err.Error(), "--browser") {
			t.Errorf("%+v: %v, want an input error naming the flag", o, err)
		}
	}
	if _, err := ParseFile([]byte("browser: maybe\n"), "x.yaml"); err == nil {
		t.Error("browser: maybe accepted")
	}
}
