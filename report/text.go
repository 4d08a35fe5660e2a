package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/probe"
)

// Headline is the verdict in plain words, the first line of every format.
func Headline(r *Report) string {
	c := Counts(r.Checks)
	switch r.Verdict {
	case probe.Fail:
		return fmt.Sprintf("NOT READY: softphone calls will fail or break from this network (%d failed, %d warnings).", c[probe.Fail], c[probe.Warn])
	case probe.Warn:
		return fmt.Sprintf("READY WITH WARNINGS: calls should connect, but %d check(s) need attention.", c[probe.Warn])
	}
	return "READY: this network can make Amazon Connect softphone calls."
}

const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return code + s + ansiReset
}

func statusCode(s probe.Status) string {
	switch s {
	case probe.Fail:
		return ansiRed
	case probe.Warn:
		return ansiYellow
	case probe.Pass:
		return ansiGreen
	}
	return ansiDim
}

// Text writes the human report: the verdict first, then checks by layer,
// each failing one with its phase, reason and remedy.
func Text(w io.Writer, r *Report, o Options) error {
	var b strings.Builder
	fmt.Fprintln(&b, paint(o.Color, ansiBold+statusCode(r.Verdict), Headline(r)))
	inst := r.Instance
	if inst == "" {
		inst = "(no instance given)"
	}
	fmt.Fprintf(&b, "region %s · instance %s · ranges %s (%s) · %s · %.1fs\n", r.Region, inst, r.Ranges.Source, r.Ranges.CreateDate, r.Version, r.DurationMS/1000)
	if r.Interrupted {
		fmt.Fprintln(&b, "(interrupted: partial report)")
	}
	layer := ""
	for _, c := range r.Checks {
		if l := Layer(c.ID); l != layer {
			layer = l
			fmt.Fprintf(&b, "\n%s\n", paint(o.Color, ansiBold, l))
		}
		tag := fmt.Sprintf("%-4s", strings.ToUpper(string(c.Status)))
		line := fmt.Sprintf("  %s  %-20s %s", paint(o.Color, statusCode(c.Status), tag), c.ID, c.Target)
		if c.Address != "" && c.Address != c.Target {
			line += " (" + c.Address + ")"
		}
		if m := metricsLine(c.Metrics); m != "" {
			line += "  " + paint(o.Color, ansiDim, m)
		}
		fmt.Fprintln(&b, line)
		if c.Status == probe.Pass {
			continue
		}
		if c.Reason != "" {
			ph := ""
			if c.Phase != "" {
				ph = c.Phase + ": "
			}
			fmt.Fprintf(&b, "        %s%s\n", ph, c.Reason)
		}
		if c.Remedy != "" {
			fmt.Fprintf(&b, "        fix: %s\n", c.Remedy)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// metricsLine shows the headline metrics of a result, in a fixed order.
func metricsLine(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"rtt_ms", "jitter_ms", "loss_ratio", "mos"} {
		if v, ok := m[k]; ok {
			switch k {
			case "loss_ratio":
				parts = append(parts, fmt.Sprintf("loss %.1f%%", v*100))
			case "mos":
				parts = append(parts, fmt.Sprintf("MOS %.2f", v))
			default:
				parts = append(parts, fmt.Sprintf("%s %.1f ms", strings.TrimSuffix(k, "_ms"), v))
			}
		}
	}
	return strings.Join(parts, " ")
}
