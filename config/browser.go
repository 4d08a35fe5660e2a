package config

import "time"

// The browser check's time limits (check --browser, docs/BROWSER.md).
const (
	// DefaultBrowserTimeout is how long the browser has to open the page,
	// run it and answer, not counting --duration (the page's test call):
	// time to start a browser, for a person to click Allow on the
	// microphone prompt (browsercheck.MicPrompt, 20 s), and for the test
	// call to connect (browsercheck.RelaySetup, 10 s).
	DefaultBrowserTimeout = 45 * time.Second
	MinBrowserTimeout     = 5 * time.Second
	MaxBrowserTimeout     = 10 * time.Minute
)

// Browser is the browser check's settings (check --browser).
type Browser struct {
	// Enabled is --browser or the file's `browser: true`: the browser.*
	// checks run; otherwise they are left out of the report.
	Enabled bool
	// Cmd is --browser-cmd: the program (and arguments) that opens the
	// page; "" means the system's default browser.
	Cmd string
	// Timeout is --browser-timeout: how long the browser has to answer,
	// plus Config.Duration for its test call.
	Timeout time.Duration
}

// setBrowser sets Browser: enabled by --browser or the file's browser:
// true (a flag can only switch it on); --browser-cmd and
// --browser-timeout need it.
func (c *Config) setBrowser(f *File, o Overrides) error {
	c.Browser = Browser{Enabled: o.Browser || f.Browser, Cmd: o.BrowserCmd, Timeout: DefaultBrowserTimeout}
	if o.BrowserTimeout != nil {
		if d := *o.BrowserTimeout; d < MinBrowserTimeout || d > MaxBrowserTimeout {
			return inputErr("--browser-timeout %v: must be between %v and %v", d, MinBrowserTimeout, MaxBrowserTimeout)
		}
		c.Browser.Timeout = *o.BrowserTimeout
	}
	if !c.Browser.Enabled && (o.BrowserCmd != "" || o.BrowserTimeout != nil) {
		return inputErr("--browser-cmd and --browser-timeout need --browser (or browser: true in the config file)")
	}
	return nil
}
