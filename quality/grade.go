package quality

import (
	"fmt"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// Verdict grades with result.Status: a metric's grade is a check's status,
// one type for both (pass, warn or fail; never skip).

// Verdict is one metric graded against its threshold. Reason is empty on
// pass; on warn or fail it names the measured value, the threshold crossed
// and the threshold's published source.
type Verdict struct {
	Level  result.Status
	Metric string
	Value  float64
	Reason string
}

// Limits that the profiles do not carry: Microsoft's client-to-edge burst
// loss and reordering targets (docs/MEDIA.md), graded as warnings only, since
// the CCP's own figures say nothing of them.
const (
	BurstLossWarn  = 0.10
	ReorderWarn    = 0.0005
	microsoftEdge  = "Microsoft Teams client-to-edge target"
	burstLossSrc   = microsoftEdge + " (burst loss < 10% in any 200 ms)"
	reorderLossSrc = microsoftEdge + " (packet reorder < 0.05%)"
)

// Judge grades one value of metric (rtt_ms, jitter_ms, loss_ratio, mos)
// against the profile. what describes the value in the reason ("mean
// RTT", "loss in the worst 15 s window"). An unknown metric passes.
func (t Thresholds) Judge(metric string, value float64, what string) Verdict {
	v := Verdict{Level: result.Pass, Metric: metric, Value: value}
	var l Limit
	higherIsBetter := false
	switch metric {
	case "rtt_ms":
		l = t.RTTMS
	case "jitter_ms":
		l = t.JitterMS
	case "loss_ratio":
		l = t.LossRatio
	case "mos":
		l, higherIsBetter = t.MOS, true
	default:
		return v
	}
	bound, word := 0.0, ""
	switch {
	case !higherIsBetter && value > l.Fail, higherIsBetter && value < l.Fail:
		v.Level, bound = result.Fail, l.Fail
	case !higherIsBetter && value > l.Warn, higherIsBetter && value < l.Warn:
		v.Level, bound = result.Warn, l.Warn
	default:
		return v
	}
	word = "above"
	if higherIsBetter {
		word = "below"
	}
	v.Reason = fmt.Sprintf("%s %s is %s the %s threshold %s (profile %s; source: %s)",
		what, Format(metric, value), word, v.Level, Format(metric, bound), t.Profile, t.source(metric))
	return v
}

// JudgeExtra grades the Microsoft-only measures: burst_loss_ratio and
// reorder_ratio (warn only).
func JudgeExtra(metric string, value float64) Verdict {
	v := Verdict{Level: result.Pass, Metric: metric, Value: value}
	var bound float64
	var src, what string
	switch metric {
	case "burst_loss_ratio":
		bound, src, what = BurstLossWarn, burstLossSrc, "loss in the worst 200 ms"
	case "reorder_ratio":
		bound, src, what = ReorderWarn, reorderLossSrc, "reordered packets"
	default:
		return v
	}
	if value > bound {
		v.Level = result.Warn
		v.Reason = fmt.Sprintf("%s %s is above the warn threshold %s (source: %s)",
			what, Format("loss_ratio", value), Format("loss_ratio", bound), src)
	}
	return v
}

// JudgeStream grades a stream's statistics: mean RTT, the one-way jitter
// estimate (OneWayJitterMS: the limits are one-way figures) and loss in
// the worst 15 s window (Microsoft's "in any 15 s"), MOS, burst loss and,
// in the strict profile, reordering. The verdicts come worst first; the first is the stream's.
func (t Thresholds) JudgeStream(s Stats) []Verdict {
	win := "in the worst 15 s window"
	if len(s.Windows) <= 1 {
		win = "over the run"
	}
	vs := []Verdict{
		t.Judge("loss_ratio", s.WorstWindowLoss(), "packet loss "+win),
		t.Judge("rtt_ms", s.RTTMeanMS, "mean round-trip time"),
		t.Judge("jitter_ms", s.WorstWindowOneWayJitterMS(), "one-way jitter (estimate) "+win),
		t.Judge("mos", s.MOS(), "estimated MOS (ITU-T G.107 E-model, Opus)"),
		JudgeExtra("burst_loss_ratio", s.BurstLossRatio),
	}
	// Reordering is graded only in the strict profile, whose source is
	// Microsoft's table: at 0.05 % a single reordered packet in a 5 s run
	// would warn, and the CCP's own figures say nothing of it (Opus's
	// jitter buffer puts a slightly late packet back in order).
	if t.Profile == "strict" {
		vs = append(vs, JudgeExtra("reorder_ratio", s.ReorderRatio))
	}
	// Stable sort by severity, worst first.
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && vs[j].Level.Severity() > vs[j-1].Level.Severity(); j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
	return vs
}

// Worst returns the most severe verdict (the first on a tie), and a
// reason joining every non-pass reason.
func Worst(vs []Verdict) (result.Status, string) {
	lvl := result.Pass
	var reasons []string
	for _, v := range vs {
		if v.Level.Severity() > lvl.Severity() {
			lvl = v.Level
		}
	}
	for _, v := range vs {
		if v.Level != result.Pass {
			reasons = append(reasons, v.Reason)
		}
	}
	return lvl, strings.Join(reasons, "; ")
}

func (t Thresholds) source(metric string) string {
	if s := t.Sources[metric]; s != "" {
		return s
	}
	return "unknown"
}

// Format prints a metric's value in its unit: "212 ms", "2.4%", "3.61".
func Format(metric string, v float64) string {
	switch {
	case strings.HasSuffix(metric, "_ms"):
		if v < 10 {
			return fmt.Sprintf("%.1f ms", v)
		}
		return fmt.Sprintf("%.0f ms", v)
	case strings.HasSuffix(metric, "_ratio"):
		return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", 100*v), "0"), ".0") + "%"
	}
	return fmt.Sprintf("%.2f", v)
}
