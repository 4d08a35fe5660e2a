package report

import (
	"fmt"
	"io"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// bigReport is a large site: 200 results, 5 TURN servers with 30-minute
// media series (1800 samples each).
func bigReport() *Report {
	r := sampleReport()
	media := 0
	for i := 0; len(r.Checks) < 200; i++ {
		c := r.Checks[i%len(r.Checks)]
		c.Target = fmt.Sprintf("%s-%d", c.Target, i)
		c.Series = nil
		if c.ID == "media.quality" && media < 5 {
			c.Series = series(1800, 25, 5, 0.01)
			media++
		}
		r.Checks = append(r.Checks, c)
	}
	r.Verdict = result.Verdict(r.Checks)
	return r
}

func benchFormat(b *testing.B, format string) {
	r := bigReport()
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, format, r, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderText(b *testing.B)   { benchFormat(b, "text") }
func BenchmarkRenderJSON(b *testing.B)   { benchFormat(b, "json") }
func BenchmarkRenderHTML(b *testing.B)   { benchFormat(b, "html") }
func BenchmarkRenderProm(b *testing.B)   { benchFormat(b, "prom") }
func BenchmarkRenderJUnit(b *testing.B)  { benchFormat(b, "junit") }
func BenchmarkRenderNagios(b *testing.B) { benchFormat(b, "nagios") }

// BenchmarkFindings groups a large site's 200 results into findings (what
// every format does first when the report has none yet).
func BenchmarkFindings(b *testing.B) {
	r := bigReport()
	b.ReportAllocs()
	for b.Loop() {
		_ = FindingsOf(r.Checks, r.Region)
	}
}
