package probe

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// browser.support: the browser and its version against the browsers
// Amazon Connect supports, WebRTC present, and a secure context — from the
// page itself (check --browser).
var browserSupport = Probe{
	Kind:    result.Kind{ID: "browser.support", Layer: result.LayerBrowser},
	Budget:  browserBudget,
	Targets: oneTarget(browserTarget),
	Why:     browserWhy,
	Asked:   browserAsked,
	Run: func(ctx context.Context, env *Env, t Target) Result {
		a, r, ok := browserAnswer(ctx, env, t.Name)
		if !ok {
			return r
		}
		return gradeSupport(r, a.Support)
	},
}

// supportedFloor is the oldest major version of each supported browser
// family that this build accepts without a warning. AWS supports "the
// latest three versions" of Google Chrome, Microsoft Edge (Chromium) and
// Mozilla Firefox, and Firefox ESR (admin guide, "Supported browsers",
// docs/BROWSER.md). A program cannot know "latest" offline: these are the
// latest three as of this build's data (2026-12: Chrome 156, measured
// here) and, for Firefox, the oldest ESR line still in use (140).
// Chromium is Chrome's open-source build (same engine and version).
var supportedFloor = map[string]int{"Chrome": 154, "Chromium": 154, "Edge": 154, "Firefox": 140}

// supportedAsOf dates supportedFloor.
const supportedAsOf = "2026-12"

// browserName is a browser family and major version (0: unknown).
type browserName struct {
	Family string
	Major  int
}

func (b browserName) String() string {
	if b.Major == 0 {
		return b.Family
	}
	return fmt.Sprintf("%s %d", b.Family, b.Major)
}

var (
	reEdge    = regexp.MustCompile(`\bEdg(?:e|A|iOS)?/(\d+)`)
	reFirefox = regexp.MustCompile(`\bFirefox/(\d+)`)
	reOpera   = regexp.MustCompile(`\bOPR/(\d+)`)
	reChrome  = regexp.MustCompile(`\b(?:Headless)?Chrome/(\d+)`)
	reSafari  = regexp.MustCompile(`\bVersion/(\d+)(?:\.\d+)* (?:Mobile/\S+ )?Safari/`)
)

// identify names the browser from the client hints' brands (Chromium
// browsers), else from the user agent string.
func identify(s *browsercheck.Support) browserName {
	byBrand := map[string]string{"Microsoft Edge": "Edge", "Google Chrome": "Chrome", "Opera": "Opera", "Brave": "Brave", "Chromium": "Chromium"}
	for _, want := range []string{"Microsoft Edge", "Google Chrome", "Opera", "Brave", "Chromium"} {
		for _, b := range s.Brands {
			if b.Brand == want {
				n, _ := strconv.Atoi(strings.SplitN(b.Version, ".", 2)[0])
				return browserName{byBrand[want], n}
			}
		}
	}
	ua := s.UserAgent
	for _, c := range []struct {
		re     *regexp.Regexp
		family string
	}{{reEdge, "Edge"}, {reOpera, "Opera"}, {reFirefox, "Firefox"}, {reChrome, "Chrome"}, {reSafari, "Safari"}} {
		if m := c.re.FindStringSubmatch(ua); m != nil {
			n, _ := strconv.Atoi(m[1])
			return browserName{c.family, n}
		}
	}
	return browserName{Family: "an unknown browser"}
}

// remedyBrowser is the remedy for a browser Amazon Connect does not support.
const remedyBrowser = "use a current Google Chrome, Microsoft Edge or Mozilla Firefox (Amazon Connect supports their latest three versions, and Firefox ESR)"

func gradeSupport(r Result, s *browsercheck.Support) Result {
	if s == nil {
		r.Status, r.Reason = Skip, "the browser's answer says nothing of the browser itself"
		return r
	}
	b := identify(s)
	r.SetDetail("browser", b.String())
	r.SetDetail("user_agent", s.UserAgent)
	if s.Platform != "" {
		r.SetDetail("platform", s.Platform)
	}
	if b.Major > 0 {
		r.SetMetric("browser_major", float64(b.Major))
	}
	r.Phase = result.PhaseBrowser
	switch {
	case !s.SecureContext:
		r.Status = Fail
		r.Reason = fmt.Sprintf("%s does not treat the check page as a secure context, so it switches WebRTC and the microphone off", b)
		r.Remedy = "open the page as given (http://127.0.0.1:…) and not through a proxy or a rewritten address; " + remedyBrowser
		return r
	case !s.RTCPeerConnection:
		r.Status = Fail
		r.Reason = fmt.Sprintf("%s has no WebRTC (RTCPeerConnection is missing): the softphone cannot make calls in it", b)
		r.Remedy = "turn WebRTC back on (a policy or an extension removed it), or " + remedyBrowser
		return r
	case !s.GetUserMedia:
		r.Status = Fail
		r.Reason = fmt.Sprintf("%s cannot open a microphone (navigator.mediaDevices.getUserMedia is missing)", b)
		r.Remedy = remedyBrowser
		return r
	}
	floor, known := supportedFloor[b.Family]
	switch {
	case !known:
		r.Status = Warn
		r.Reason = fmt.Sprintf("%s is not on Amazon Connect's list of supported browsers (Chrome, Edge, Firefox): calls may work, but the CCP may refuse it (unsupported_browser) and AWS will not help with it", b)
		r.Remedy = remedyBrowser
	case b.Major > 0 && b.Major < floor:
		r.Status = Warn
		r.Reason = fmt.Sprintf("%s is older than the versions Amazon Connect supports (the latest three: %d or newer as of %s)", b, floor, supportedAsOf)
		r.Remedy = "update " + b.Family + " to its current version"
	default:
		r.Status, r.Phase = Pass, ""
		r.Reason = fmt.Sprintf("%s, with WebRTC and the microphone API, in a secure context", b)
		if b.Family == "Chromium" {
			r.Reason += " (Chromium is Chrome's open-source build; AWS lists Google Chrome)"
		}
	}
	return r
}
