package probe

import (
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// TestBrowserSupportGrades: the browser named from the client hints or the
// user agent, graded against the families and versions Amazon Connect
// supports; missing WebRTC or a non-secure context fails.
func TestBrowserSupportGrades(t *testing.T) {
	ok := func(ua string, brands ...browsercheck.Brand) *browsercheck.Support {
		return &browsercheck.Support{UserAgent: ua, Brands: brands, SecureContext: true, RTCPeerConnection: true, GetUserMedia: true}
	}
	chromeUA := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	for _, c := range []struct {
		name   string
		s      *browsercheck.Support
		want   result.Status
		named  string
		reason string
	}{
		{"Chrome by hints", ok(chromeUA, browsercheck.Brand{Brand: "Not)A;Brand", Version: "99"}, browsercheck.Brand{Brand: "Google Chrome", Version: "156"}, browsercheck.Brand{Brand: "Chromium", Version: "156"}), result.Pass, "Chrome 156", ""},
		{"Edge by hints", ok(chromeUA+" Edg/155.0.0.0", browsercheck.Brand{Brand: "Chromium", Version: "155"}, browsercheck.Brand{Brand: "Microsoft Edge", Version: "155"}), result.Pass, "Edge 155", ""},
		{"Edge by UA", ok(chromeUA + " Edg/156.0.1.2"), result.Pass, "Edge 156", ""},
		{"Firefox", ok("Mozilla/5.0 (X11; Linux x86_64; rv:152.0) Gecko/20100101 Firefox/152.0"), result.Pass, "Firefox 152", ""},
		{"Firefox ESR 140", ok("Mozilla/5.0 (Windows NT 10.0; rv:140.0) Gecko/20100101 Firefox/140.0"), result.Pass, "Firefox 140", ""},
		{"old Chrome", ok(strings.Replace(chromeUA, "156", "120", 1)), result.Warn, "Chrome 120", "older than"},
		{"Safari", ok("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"), result.Warn, "Safari 18", "not on Amazon Connect's list"},
		{"Opera", ok(chromeUA + " OPR/120.0.0.0"), result.Warn, "Opera 120", "not on"},
		{"headless Chromium", ok("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0 Safari/537.36", browsercheck.Brand{Brand: "Chromium", Version: "156"}), result.Pass, "Chromium 156", "open-source build"},
		{"no WebRTC", &browsercheck.Support{UserAgent: chromeUA, SecureContext: true, GetUserMedia: true}, result.Fail, "Chrome 156", "no WebRTC"},
		{"not secure", &browsercheck.Support{UserAgent: chromeUA, RTCPeerConnection: true, GetUserMedia: true}, result.Fail, "Chrome 156", "secure context"},
		{"no getUserMedia", &browsercheck.Support{UserAgent: chromeUA, SecureContext: true, RTCPeerConnection: true}, result.Fail, "Chrome 156", "cannot open a microphone"},
	} {
		r := gradeSupport(Result{}, c.s)
		if r.Status != c.want || r.Details["browser"] != c.named || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: %s %q %q; want %s %q with %q", c.name, r.Status, r.Details["browser"], r.Reason, c.want, c.named, c.reason)
		}
		if r.Status != result.Pass && (r.Phase != result.PhaseBrowser || r.Remedy == "") {
			t.Errorf("%s: %s without the browser phase or a remedy: %+v", c.name, r.Status, r)
		}
	}
	if r := gradeSupport(Result{}, nil); r.Status != result.Skip {
		t.Errorf("no support facts: %s", r.Status)
	}
}
