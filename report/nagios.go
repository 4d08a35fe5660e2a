package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// Nagios plugin return codes (Nagios Plugin Development Guidelines).
const (
	NagiosOK       = 0
	NagiosWarning  = 1
	NagiosCritical = 2
	NagiosUnknown  = 3
)

// nagiosService prefixes the status line ("SERVICE STATUS: text").
const nagiosService = "CCP-PREFLIGHT"

// NagiosCode is the plugin return code for r: UNKNOWN when the run is not
// a verdict (interrupted, or no check of the network ran: OutcomeOf),
// CRITICAL when a check failed (or warned, with FailOn warn), WARNING when
// one warned, else OK.
func NagiosCode(r *Report, o Options) int {
	switch {
	case OutcomeOf(r).Verdictless():
		return NagiosUnknown
	case r.Verdict == result.Fail:
		return NagiosCritical
	case r.Verdict == result.Warn && o.failOn() == result.Warn:
		return NagiosCritical
	case r.Verdict == result.Warn:
		return NagiosWarning
	}
	return NagiosOK
}

var nagiosWords = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

// NagiosStatusMax is the longest status line (the text before the
// perfdata's "|") NagiosStatus writes: what Nagios, Icinga and their
// notification e-mails and SMS show in one line.
const NagiosStatusMax = 120

// NagiosStatus is the plugin's status line without perfdata, at most
// NagiosStatusMax characters: "CCP-PREFLIGHT CRITICAL - NOT READY: the top
// finding (+2 more)". The verdict words are the Headline's (before its
// colon); with no finding, the Headline itself.
func NagiosStatus(r *Report, o Options) string {
	head := nagiosText(Headline(r))
	line := nagiosService + " " + nagiosWords[NagiosCode(r, o)] + " - "
	fs := r.findings()
	if len(fs) == 0 {
		return clip(line+head, NagiosStatusMax)
	}
	verdict, _, _ := strings.Cut(head, ":")
	more := ""
	if len(fs) > 1 {
		more = fmt.Sprintf(" (+%d more)", len(fs)-1)
	}
	room := NagiosStatusMax - len([]rune(line+verdict+": "+more))
	return line + verdict + ": " + clip(nagiosText(fs[0].Title), room) + more
}

// clip shortens s to n characters (runes), ending in "…" when cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	return string(r[:n-1]) + "…"
}

// NagiosUnknownLine is the status line for a run that could not start (an
// input error): print it on stdout and exit NagiosUnknown.
func NagiosUnknownLine(msg string) string {
	return nagiosService + " UNKNOWN - " + nagiosText(msg)
}

// Nagios writes plugin output per the Nagios plugin guidelines: a first
// line "CCP-PREFLIGHT STATUS - verdict: top finding (+N more) | perfdata"
// (NagiosStatus, at most 120 characters before the "|"), then the long
// output — one line per finding with who fixes it and the fix, then one
// line per warn/fail check with its reason and fix — then
// per-check perfdata after a second "|". Perfdata: counts of checks by
// status, the run's duration, and for each tcp., stun., media. and
// capacity. check target its rtt and jitter (ms), loss (%) and MOS. The exit code is NagiosCode.
func Nagios(w io.Writer, r *Report, o Options) error {
	c := Counts(r.Checks)
	var b strings.Builder
	fs := r.findings()
	b.WriteString(NagiosStatus(r, o))
	fmt.Fprintf(&b, " | fail=%d;;;0 warn=%d;;;0 pass=%d;;;0 skip=%d;;;0 duration=%ss;;;0\n",
		c[result.Fail], c[result.Warn], c[result.Pass], c[result.Skip], num(r.DurationMS/1000))
	for _, f := range fs {
		line := strings.ToUpper(string(f.Severity)) + " " + f.Title + ". Fix (" + f.Who.Words() + "): " + f.Remedy
		b.WriteString(nagiosText(line) + "\n")
	}
	for _, a := range Attention(r.Checks) {
		line := strings.ToUpper(string(a.Status)) + " " + a.ID + " " + a.Target + ":"
		if a.Phase != "" {
			line += " " + a.Phase + ":"
		}
		line += " " + a.Reason
		if a.Remedy != "" {
			line += " Fix: " + a.Remedy
		}
		b.WriteString(nagiosText(line) + "\n")
	}
	var perf []string
	for _, ch := range r.Checks {
		for _, m := range []struct{ key, label, uom, min, max string }{
			{"rtt_ms", "rtt", "ms", "0", ""},
			{"jitter_ms", "jitter", "ms", "0", ""},
			{"loss_ratio", "loss", "%", "0", "100"},
			{"mos", "mos", "", "1", "5"},
		} {
			v, ok := ch.Metrics[m.key]
			if !ok || !finite(v) || !perfMetric(ch.ID, m.key) {
				continue
			}
			scale := 1.0
			if m.key == "loss_ratio" {
				scale = 100
			}
			warn, crit := perfRanges(r.Thresholds, m.key, scale)
			perf = append(perf, fmt.Sprintf("%s=%s%s;%s;%s;%s;%s", perfLabel(ch.ID+" "+ch.Target+" "+m.label), num(v*scale), m.uom, warn, crit, m.min, m.max))
		}
	}
	if len(perf) > 0 {
		b.WriteString("| " + strings.Join(perf, "\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// perfRanges are the perfdata warn and crit ranges of a metric from the
// report's thresholds, in the perfdata unit (value × scale): "W" alerts
// above W (RTT, jitter, loss), "W:" below W (MOS, higher is better), per the
// Nagios plugin guidelines' range format. Empty when there are none.
func perfRanges(t *Thresholds, metric string, scale float64) (warn, crit string) {
	if t == nil {
		return "", ""
	}
	l, ok := t.Limits[metric]
	if !ok {
		return "", ""
	}
	if metric == "mos" {
		return num(l.Warn*scale) + ":", num(l.Fail*scale) + ":"
	}
	return num(l.Warn * scale), num(l.Fail * scale)
}

// perfMetric reports whether the check declared metric as perfdata
// (result.Kind.Perfdata): the numbers worth a graph, not every DNS
// answer's time.
func perfMetric(id, metric string) bool {
	k, _ := result.KindOf(id)
	return slices.Contains(k.Perfdata, metric)
}

// nagiosText is text safe in plugin output: one line, no "|" (it starts
// perfdata), no control characters.
func nagiosText(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", "/")
}

// perfLabel quotes a perfdata label: single quotes, an inner quote doubled,
// no "=" (it ends the label).
func perfLabel(s string) string {
	s = strings.ReplaceAll(nagiosText(s), "=", "_")
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// num formats a perfdata value: plain decimal, no exponent, at most three
// decimals.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}
