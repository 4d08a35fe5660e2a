package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// Headline is the outcome in plain words (OutcomeOf), the first line of
// every format: READY, READY WITH WARNINGS, NOT READY, or — not verdicts —
// INCOMPLETE (interrupted) and NOT CHECKED (no check of the network ran).
// Checks left out by --skip are named after it.
func Headline(r *Report) string {
	c := Counts(r.Checks)
	var s string
	switch OutcomeOf(r) {
	case OutcomeIncomplete:
		return headlineIncomplete(r, c) + notTested(r)
	case OutcomeNotChecked:
		return headlineNotChecked(r)
	case OutcomeNotReady:
		s = fmt.Sprintf("NOT READY: softphone calls will fail or break from this network (%d failed, %s).", c[result.Fail], plural(c[result.Warn], "warning", "warnings"))
	case OutcomeWarnings:
		s = fmt.Sprintf("READY WITH WARNINGS: calls should connect, but %d check(s) need attention.", c[result.Warn]+siteFails(r.Checks))
	default:
		s = "READY: this network can make Amazon Connect softphone calls."
	}
	s += siteNote(r.Checks)
	return s + notTested(r)
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

// Text writes the human report. The first screen: the verdict in plain
// words on the first line, then the findings (FindingsOf: one per root
// cause, at most MaxFindings, most important first), each with who can fix
// it and the exact change; then the summary block (UDP 3478, TURN RTT,
// NAT, proxy, IPv6… as the checks declare it, and this computer) and the
// run's facts with the counts. With o.Verbose the checks follow, grouped by
// layer (LayerOrder), each warn/fail/skip one with its phase, reason, fix
// and the check it depends on; with o.Brief only the verdict and the
// findings are written. Colour (ANSI) only when o.Color; the caller
// decides it from the terminal and NO_COLOR.
func Text(w io.Writer, r *Report, o Options) error {
	var b strings.Builder
	fmt.Fprintln(&b, paint(o.Color, ansiBold+statusCode(r.Verdict), Headline(r)))
	fs := r.findings()
	b.WriteString("\n")
	if len(fs) == 0 {
		if Counts(r.Checks)[result.Pass] > 0 {
			fmt.Fprintln(&b, "Nothing to change: every check that ran passed.")
		}
	}
	shown := fs
	if len(shown) > MaxFindings && !o.Verbose {
		shown = shown[:MaxFindings]
	}
	for i, f := range shown {
		tag := fmt.Sprintf("%-4s", strings.ToUpper(string(f.Severity)))
		fmt.Fprintf(&b, "%d. %s  %s\n", i+1, paint(o.Color, statusCode(f.Severity), tag), oneLine(f.Title))
		if f.Remedy != "" {
			fmt.Fprintf(&b, "         %s %s\n", paint(o.Color, ansiBold, "fix ("+f.Who.Words()+"):"), oneLine(f.Remedy))
		}
		if o.Verbose {
			fmt.Fprintf(&b, "         %s\n", paint(o.Color, ansiDim, behind(f)))
		}
	}
	if more := len(fs) - len(shown); more > 0 {
		where := "--verbose shows them"
		if o.Brief {
			where = "the HTML report lists them"
		}
		fmt.Fprintf(&b, "…and %s (%s).\n", plural(more, "more finding", "more findings"), where)
	}
	if o.Brief {
		_, err := io.WriteString(w, b.String())
		return err
	}
	if lines := SummaryLines(r); len(lines) > 0 {
		fmt.Fprintf(&b, "\n%s\n", paint(o.Color, ansiBold, "Summary"))
		for _, l := range lines {
			fmt.Fprintf(&b, "  %-19s %s\n", l[0], oneLine(l[1]))
		}
	}
	fmt.Fprintf(&b, "\n%s\n", oneLine(runLine(r)))
	hint := ""
	if !o.Verbose && len(r.Checks) > 0 {
		hint = "; every check: --verbose"
	}
	fmt.Fprintf(&b, "%d checks: %s%s\n", len(r.Checks), countsLine(r.Checks), hint)
	if o.Verbose {
		textChecks(&b, r, o)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// MaxFindings is how many findings the first screen shows (text, HTML's
// first section, the guided run); the rest follow with --verbose or below.
const MaxFindings = 5

// behind says which checks show a finding: "dns.resolve on 11 targets;
// 58 more could not run or failed because of it (tcp.connect, …)".
func behind(f Finding) string {
	s := fmt.Sprintf("behind it: %s on %s", f.Checks[0], plural(max(len(f.Targets), 1), "target", "targets"))
	if f.Dependent > 0 {
		s += fmt.Sprintf("; %d more results failed or could not run because of it", f.Dependent)
		if len(f.Checks) > 1 {
			s += " (" + strings.Join(f.Checks[1:], ", ") + ")"
		}
	}
	return s
}

// runLine is the run's facts: region, instance, ranges, version, duration.
func runLine(r *Report) string {
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
	return fmt.Sprintf("region %s · instance %s · ranges %s · ccp-preflight %s · %.1fs", r.Region, inst, ranges, r.Version, r.DurationMS/1000)
}

// textChecks writes every check by layer (the --verbose detail).
func textChecks(b *strings.Builder, r *Report, o Options) {
	dep := DependsOn(r.Checks)
	for _, g := range groupsIndexed(r.Checks) {
		fmt.Fprintf(b, "\n%s\n", paint(o.Color, ansiBold, string(g.Layer)))
		for _, i := range g.idx {
			c := r.Checks[i]
			tag := fmt.Sprintf("%-4s", strings.ToUpper(string(c.Status)))
			line := fmt.Sprintf("  %s  %-20s %s", paint(o.Color, statusCode(c.Status), tag), oneLine(c.ID), oneLine(c.Target))
			if c.Address != "" && c.Address != c.Target {
				line += " (" + oneLine(c.Address) + ")"
			}
			if m := metricsLine(c.Metrics); m != "" {
				line += "  " + paint(o.Color, ansiDim, m)
			}
			if d := dep[i]; d != "" {
				line += "  " + paint(o.Color, ansiDim, "(depends on "+d+")")
			}
			fmt.Fprintln(b, strings.TrimRight(line, " "))
			if c.Status == result.Pass {
				continue
			}
			if c.Reason != "" {
				ph := ""
				if c.Phase != "" {
					ph = c.Phase + ": "
				}
				fmt.Fprintf(b, "        %s%s\n", ph, oneLine(c.Reason))
			}
			if c.Remedy != "" {
				fmt.Fprintf(b, "        %s %s\n", paint(o.Color, ansiBold, "fix:"), oneLine(c.Remedy))
			}
		}
	}
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
