package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// Headline is the verdict in plain words, the first line of every format.
func Headline(r *Report) string {
	c := Counts(r.Checks)
	var s string
	switch r.Verdict {
	case result.Fail:
		s = fmt.Sprintf("NOT READY: softphone calls will fail or break from this network (%d failed, %s).", c[result.Fail], plural(c[result.Warn], "warning", "warnings"))
	case result.Warn:
		s = fmt.Sprintf("READY WITH WARNINGS: calls should connect, but %d check(s) need attention.", c[result.Warn]+siteFails(r.Checks))
	default:
		if len(r.Checks) > 0 && c[result.Skip] == len(r.Checks) {
			s = "NOT CHECKED: every check was skipped, so nothing is known about this network."
		} else {
			s = "READY: this network can make Amazon Connect softphone calls."
		}
	}
	s += siteNote(r.Checks)
	if r.Interrupted {
		s += " (Interrupted: partial report.)"
	}
	return s
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

func statusCode(s result.Status) string {
	switch s {
	case result.Fail:
		return ansiRed
	case result.Warn:
		return ansiYellow
	case result.Pass:
		return ansiGreen
	}
	return ansiDim
}

// Text writes the human report: the verdict in plain words on the first
// line, then the run's facts, then checks grouped by layer (LayerOrder),
// each warn/fail one with its phase, reason and the fix, and a count line.
// Colour (ANSI) only when o.Color; the caller decides it from the terminal
// and NO_COLOR.
func Text(w io.Writer, r *Report, o Options) error {
	var b strings.Builder
	fmt.Fprintln(&b, paint(o.Color, ansiBold+statusCode(r.Verdict), Headline(r)))
	inst := r.Instance
	if inst == "" {
		inst = "(no instance given)"
	}
	ranges := r.Ranges.Source
	if r.Ranges.CreateDate != "" {
		ranges += " of " + dateOnly(r.Ranges.CreateDate)
	}
	if ranges == "" {
		ranges = "(none)"
	}
	fmt.Fprintln(&b, oneLine(fmt.Sprintf("region %s · instance %s · ranges %s · ccp-preflight %s · %.1fs", r.Region, inst, ranges, r.Version, r.DurationMS/1000)))
	for _, g := range Groups(r.Checks) {
		fmt.Fprintf(&b, "\n%s\n", paint(o.Color, ansiBold, string(g.Layer)))
		for _, c := range g.Checks {
			tag := fmt.Sprintf("%-4s", strings.ToUpper(string(c.Status)))
			line := fmt.Sprintf("  %s  %-20s %s", paint(o.Color, statusCode(c.Status), tag), oneLine(c.ID), oneLine(c.Target))
			if c.Address != "" && c.Address != c.Target {
				line += " (" + oneLine(c.Address) + ")"
			}
			if m := metricsLine(c.Metrics); m != "" {
				line += "  " + paint(o.Color, ansiDim, m)
			}
			fmt.Fprintln(&b, strings.TrimRight(line, " "))
			if c.Status == result.Pass {
				continue
			}
			if c.Reason != "" {
				ph := ""
				if c.Phase != "" {
					ph = c.Phase + ": "
				}
				fmt.Fprintf(&b, "        %s%s\n", ph, oneLine(c.Reason))
			}
			if c.Remedy != "" {
				fmt.Fprintf(&b, "        %s %s\n", paint(o.Color, ansiBold, "fix:"), oneLine(c.Remedy))
			}
		}
	}
	fmt.Fprintf(&b, "\n%s\n", countsLine(r.Checks))
	_, err := io.WriteString(w, b.String())
	return err
}

// countsLine is "12 passed, 1 warning, 2 failed, 3 skipped".
func countsLine(checks []result.Result) string {
	c := Counts(checks)
	return fmt.Sprintf("%d passed, %s, %d failed, %d skipped", c[result.Pass], plural(c[result.Warn], "warning", "warnings"), c[result.Fail], c[result.Skip])
}

// plural is "1 warning" or "2 warnings".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// oneLine folds a multi-line text onto one line, so every line of the text
// report keeps its indentation, and removes control characters: reasons
// quote what servers sent (a TLS issuer name), which must not drive the
// reader's terminal.
func oneLine(s string) string {
	return strings.Join(strings.Fields(printable(s)), " ")
}

// printable replaces control characters (C0, DEL, C1; tabs and newlines
// become spaces) with U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return '\uFFFD'
		}
		return r
	}, s)
}

// dateOnly keeps the date of an RFC 3339 time ("2026-11-02T18:13:05Z" →
// "2026-11-02"); other text is returned as is.
func dateOnly(s string) string {
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		return s[:10]
	}
	return s
}

// metricsLine shows the headline metrics of a result, in a fixed order.
func metricsLine(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"rtt_ms", "jitter_ms", "loss_ratio", "mos"} {
		if v, ok := m[k]; ok && finite(v) {
			switch k {
			case "loss_ratio":
				parts = append(parts, fmt.Sprintf("loss %.1f%%", v*100))
			case "mos":
				parts = append(parts, fmt.Sprintf("MOS %.2f", v))
			case "rtt_ms", "jitter_ms":
				// Sub-millisecond paths (a LAN, the lab) keep two decimals.
				f := "%s %.1f ms"
				if v < 1 {
					f = "%s %.2f ms"
				}
				parts = append(parts, fmt.Sprintf(f, strings.TrimSuffix(k, "_ms"), v))
			}
		}
	}
	return strings.Join(parts, " ")
}
