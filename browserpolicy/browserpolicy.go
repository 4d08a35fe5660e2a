// Package browserpolicy reads the enterprise policies of the browsers the
// CCP runs in (Google Chrome, Microsoft Edge, Chromium) that change
// WebRTC or the proxy, and says what each does to a softphone call:
// WebRtcIPHandling, WebRtcUdpPortRange, WebRtcLocalIpsAllowedUrls and the
// proxy policies (ProxyMode, ProxyServer, ProxyPacUrl, ProxyBypassList,
// ProxySettings, ProxyServerMode).
//
// Where they live: Windows' registry (HKLM, then HKCU,
// Software\Policies\Google\Chrome, …\Microsoft\Edge, …\Chromium); Linux's
// managed JSON files (/etc/opt/chrome/policies/managed/*.json,
// /etc/opt/edge/policies/managed/*.json, /etc/chromium/policies/managed/
// *.json); macOS's managed preferences (/Library/Managed Preferences/
// [USER/]com.google.Chrome.plist, com.microsoft.Edge.plist,
// org.chromium.Chromium.plist). The readers per OS only fetch the values;
// what they mean (Evaluate) is OS-independent and table-tested.
package browserpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The policies read, by name.
const (
	WebRtcIPHandling          = "WebRtcIPHandling"
	WebRtcUdpPortRange        = "WebRtcUdpPortRange"
	WebRtcLocalIpsAllowedUrls = "WebRtcLocalIpsAllowedUrls"
	ProxyMode                 = "ProxyMode"
	ProxyServerMode           = "ProxyServerMode"
	ProxyServer               = "ProxyServer"
	ProxyPacURL               = "ProxyPacUrl"
	ProxyBypassList           = "ProxyBypassList"
	ProxySettings             = "ProxySettings"
)

// Names lists the policies this package reads.
var Names = []string{WebRtcIPHandling, WebRtcUdpPortRange, WebRtcLocalIpsAllowedUrls,
	ProxyMode, ProxyServerMode, ProxyServer, ProxyPacURL, ProxyBypassList, ProxySettings}

// Browser is one browser's managed policies that matter here.
type Browser struct {
	// Name is the browser ("Google Chrome", "Microsoft Edge", "Chromium").
	Name string
	// Values are the policies set, by name: strings, numbers, booleans,
	// lists of strings, or (ProxySettings) a map.
	Values map[string]any
	// Sources names where each policy was read (a file, a registry key).
	Sources map[string]string
	// Problems are policy sources that could not be read or parsed, one
	// line each (the browser ignores them too).
	Problems []string
}

// Set reports whether any policy was found or any source failed.
func (b Browser) Set() bool { return len(b.Values) > 0 || len(b.Problems) > 0 }

// add records a policy value from source, unless an earlier (higher
// priority) source set it.
func (b *Browser) add(name string, v any, source string) {
	if b.Values == nil {
		b.Values, b.Sources = map[string]any{}, map[string]string{}
	}
	if _, ok := b.Values[name]; ok {
		return
	}
	b.Values[name], b.Sources[name] = v, source
}

// JSONDirs are the managed policy directories on Linux, per browser.
var JSONDirs = []struct{ Browser, Dir string }{
	{"Google Chrome", "/etc/opt/chrome/policies/managed"},
	{"Microsoft Edge", "/etc/opt/edge/policies/managed"},
	{"Chromium", "/etc/chromium/policies/managed"},
	{"Chromium", "/etc/chromium-browser/policies/managed"},
}

// ReadJSONDirs reads the *.json files of each browser's managed policy
// directory (Linux's layout), in name order; a file later in the order
// does not override a policy an earlier one set (Chrome's behaviour for
// conflicts is undefined: the first wins here). Only the policies in
// Names are kept. Missing directories are not problems.
func ReadJSONDirs(dirs []struct{ Browser, Dir string }) []Browser {
	byName := map[string]*Browser{}
	var order []string
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(d.Dir, "*.json"))
		if err != nil || len(files) == 0 {
			continue
		}
		sort.Strings(files)
		b, ok := byName[d.Browser]
		if !ok {
			b = &Browser{Name: d.Browser}
			byName[d.Browser] = b
			order = append(order, d.Browser)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				b.Problems = append(b.Problems, fmt.Sprintf("%s cannot be read: %v", f, err))
				continue
			}
			m, err := ParseJSON(raw)
			if err != nil {
				b.Problems = append(b.Problems, fmt.Sprintf("%s is not a policy file (%v): %s ignores it", f, err, d.Browser))
				continue
			}
			for _, n := range Names {
				if v, ok := m[n]; ok {
					b.add(n, v, f)
				}
			}
		}
	}
	out := make([]Browser, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out
}

// maxPolicyFile bounds a policy file read (real ones are a few KiB).
const maxPolicyFile = 1 << 20

// ParseJSON parses one managed policy file: a JSON object of policy name
// to value. Errors say where the JSON breaks.
func ParseJSON(b []byte) (map[string]any, error) {
	if len(b) > maxPolicyFile {
		return nil, fmt.Errorf("more than %d bytes", maxPolicyFile)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("invalid JSON at byte %d", se.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return nil, fmt.Errorf("the JSON ends too early")
		}
		return nil, fmt.Errorf("not a JSON object")
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

// str returns a policy value as a string ("" when absent or not one).
func (b Browser) str(name string) string {
	switch v := b.Values[name].(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case float64, int, int64, uint32, uint64:
		return fmt.Sprint(v)
	}
	return ""
}

// list returns a policy value as a list of strings.
func (b Browser) list(name string) []string {
	switch v := b.Values[name].(type) {
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	case string:
		return []string{v}
	}
	return nil
}
