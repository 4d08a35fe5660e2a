package report

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Prom writes the report in the Prometheus text exposition format (0.0.4)
// for node_exporter's textfile collector: every family of Metrics with HELP
// and TYPE, no timestamps (the collector rejects them). Write it to a
// *.prom file atomically (--out does: a temporary file and a rename) in the
// collector's directory.
func Prom(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	for _, f := range Metrics(r) {
		bw.WriteString("# HELP " + f.Name + " " + escapeHelp(f.Help) + "\n")
		bw.WriteString("# TYPE " + f.Name + " gauge\n")
		for _, s := range f.Samples {
			bw.WriteString(f.Name)
			if len(f.Labels) > 0 {
				bw.WriteByte('{')
				for i, l := range f.Labels {
					if i > 0 {
						bw.WriteByte(',')
					}
					bw.WriteString(l + `="` + escapeLabel(s.Values[i]) + `"`)
				}
				bw.WriteByte('}')
			}
			bw.WriteString(" " + strconv.FormatFloat(s.Value, 'g', -1, 64) + "\n")
		}
	}
	return bw.Flush()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }
