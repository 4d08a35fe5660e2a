package result

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Layer is the section of a report a check is shown in. Renderers show
// layers in LayerOrder: from this computer out along the path a call takes
// (name, sign-in over TCP 443, media over UDP 3478) to the call's quality.
type Layer string

// The layers, in reading order.
const (
	LayerComputer Layer = "This computer"
	LayerBrowser  Layer = "Browser"
	LayerDNS      Layer = "DNS"
	LayerRanges   Layer = "Published IP ranges"
	LayerWeb      Layer = "Web and signaling (TCP 443)"
	LayerMedia    Layer = "Media reachability (UDP 3478)"
	LayerQuality  Layer = "Call quality"
	// LayerOther holds results whose id no check declared (a report built
	// by hand, or by a newer version); a declared check never lands here.
	LayerOther Layer = "Other"
)

// LayerOrder lists the layers in the order renderers show them.
var LayerOrder = []Layer{LayerComputer, LayerBrowser, LayerDNS, LayerRanges, LayerWeb, LayerMedia, LayerQuality, LayerOther}

// Kind is what renderers need to know about a check, declared with the
// check itself (probe/) so that report/ holds no check ids.
type Kind struct {
	// ID is the stable check id ("path.large-datagram").
	ID string
	// Layer is the report section the check is shown in.
	Layer Layer
	// Perfdata lists the metrics Nagios perfdata carries for this check
	// (nil: none).
	Perfdata []string
	// Chart is true when the check's Series is drawn as a chart.
	Chart bool
	// Site is true for checks that measure the site rather than this
	// computer's ability to make a call (capacity): a failure is reported,
	// but it does not say that this computer's calls will fail.
	Site bool
	// Who fixes a failure of this check by default (empty: by layer, this
	// computer for LayerComputer and LayerBrowser, else the network).
	Who Who
	// DependsOn lists the checks that must work for this one to mean
	// anything, for the same host: when one of them did not pass for the
	// host (or, for a check whose target is no host of theirs, for every
	// host), this check's failure or skip is a consequence, shown under
	// that check's finding instead of as a finding of its own.
	DependsOn []string
	// Causes are the root causes this check's results can show (see Cause).
	Causes []Cause
	// Summary is the summary line this check feeds (nil: none).
	Summary *Summary
	// Local is true for checks that only read this computer's settings or
	// files (the ranges file's age, the proxy settings, the route table)
	// and test nothing on the network: a run in which only Local checks
	// ran has not checked the network (report: NOT CHECKED).
	Local bool
}

// WhoFixes is k.Who, or the default of its layer.
func (k Kind) WhoFixes() Who {
	switch {
	case k.Who != "":
		return k.Who
	case k.Layer == LayerComputer || k.Layer == LayerBrowser:
		return WhoComputer
	}
	return WhoNetwork
}

var (
	kindsMu sync.RWMutex
	kinds   = map[string]Kind{}
)

// Declare records kinds. It panics on an empty id, a missing layer or an
// id declared twice: all are programming mistakes found at start-up.
func Declare(ks ...Kind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	for _, k := range ks {
		if k.ID == "" || k.Layer == "" {
			panic(fmt.Sprintf("result.Declare: kind %q has no id or no layer", k.ID))
		}
		if _, dup := kinds[k.ID]; dup {
			panic(fmt.Sprintf("result.Declare: check %q declared twice", k.ID))
		}
		kinds[k.ID] = k
	}
}

// KindOf returns the declared kind of the check id, and false (with
// LayerOther) when no check declared it.
func KindOf(id string) (Kind, bool) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	k, ok := kinds[id]
	if !ok {
		return Kind{ID: id, Layer: LayerOther}, false
	}
	return k, true
}

// Kinds returns every declared kind, by id.
func Kinds() []Kind {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	out := make([]Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Prefixes returns the distinct id prefixes (the part before the first
// dot) of the declared kinds, sorted: what --skip accepts.
func Prefixes() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range Kinds() {
		p, _, _ := strings.Cut(k.ID, ".")
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
