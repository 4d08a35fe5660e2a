// Package quality owns call-quality judgement: threshold profiles with their
// published sources, and the ITU-T G.107 E-model that turns delay, jitter and
// loss into a MOS.
package quality

import (
	"fmt"
	"sort"
	"strings"
)

// Limit is a warn and a fail bound for one metric. For metrics where higher
// is worse (RTT, jitter, loss) a value above Warn warns and above Fail fails;
// for MOS (higher is better) a value below Warn warns and below Fail fails.
type Limit struct {
	Warn float64 `yaml:"warn" json:"warn"`
	Fail float64 `yaml:"fail" json:"fail"`
}

// Thresholds is a named profile of limits, each with the source it cites.
type Thresholds struct {
	Profile   string
	RTTMS     Limit
	JitterMS  Limit
	LossRatio Limit
	MOS       Limit
	// Sources maps a metric name (rtt_ms, jitter_ms, loss_ratio, mos) to
	// the published source of its limits, quoted in warn/fail reasons.
	Sources map[string]string
}

var profiles = map[string]Thresholds{
	"connect": {
		Profile:   "connect",
		RTTMS:     Limit{Warn: 200, Fail: 400},
		JitterMS:  Limit{Warn: 30, Fail: 50},
		LossRatio: Limit{Warn: 0.01, Fail: 0.03},
		MOS:       Limit{Warn: 3.6, Fail: 3.1},
		Sources: map[string]string{
			"rtt_ms":     "AWS CCP connectivity tool latency bands (≤200 ms good, >400 ms red)",
			"jitter_ms":  "Twilio Voice warning (jitter > 30 ms)",
			"loss_ratio": "Twilio Voice warnings (loss > 1%, > 3% averaged)",
			"mos":        "ITU-T G.107 E-model bands (R 70 ≈ MOS 3.6 'some users dissatisfied')",
		},
	},
	"strict": {
		Profile:   "strict",
		RTTMS:     Limit{Warn: 100, Fail: 200},
		JitterMS:  Limit{Warn: 30, Fail: 50},
		LossRatio: Limit{Warn: 0.01, Fail: 0.03},
		MOS:       Limit{Warn: 4.0, Fail: 3.6},
		Sources: map[string]string{
			"rtt_ms":     "Microsoft Teams client-to-edge target (RTT < 100 ms)",
			"jitter_ms":  "Microsoft Teams client-to-edge target (jitter < 30 ms in any 15 s)",
			"loss_ratio": "Microsoft Teams client-to-edge target (loss < 1% in any 15 s)",
			"mos":        "ITU-T G.107 E-model bands (R 80 ≈ MOS 4.0 'satisfied')",
		},
	},
}

// ProfileNames lists the known profiles, sorted.
func ProfileNames() []string {
	var n []string
	for k := range profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Profile returns a copy of the named profile.
func Profile(name string) (Thresholds, error) {
	t, ok := profiles[name]
	if !ok {
		return Thresholds{}, fmt.Errorf("unknown profile %q: known profiles are %s", name, strings.Join(ProfileNames(), ", "))
	}
	src := make(map[string]string, len(t.Sources))
	for k, v := range t.Sources {
		src[k] = v
	}
	t.Sources = src
	return t, nil
}
