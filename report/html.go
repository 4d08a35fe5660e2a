package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// HTML writes the report as one self-contained page (inline CSS and SVG, no
// script, no external assets; a Content-Security-Policy forbids any fetch):
// a verdict banner, what to change, the checks by layer with reasons and
// fixes, charts of RTT, jitter and loss over time per TURN server (from
// media.quality's per-second series), and the environment: the public IP
// (masked unless o.ShowIP, everywhere on the page), the ranges data and the
// version.
func HTML(w io.Writer, r *Report, o Options) error {
	return htmlTmpl.Execute(w, newHTMLPage(r, o))
}

type htmlPage struct {
	R         *Report
	Headline  string
	Class     string
	Counts    string
	Instance  string
	Started   string
	Duration  string
	Findings  []htmlFinding
	More      []htmlFinding
	Summary   [][2]string
	Env       [][2]string
	Groups    []htmlGroup
	Charts    []htmlChartSet
	PublicIP  string
	IPMasked  bool
	RangesAge string
	Generated string
}

// htmlFinding is one finding as the page shows it.
type htmlFinding struct {
	Severity, Class, Title, Who, Behind, Targets string
	Remedy                                       template.HTML
}

type htmlGroup struct {
	Layer  string
	Class  string
	Checks []htmlCheck
}

type htmlCheck struct {
	ID, Target, Address, Status, Class, Phase, Metrics, Duration, DependsOn string
	Reason, Remedy                                                          template.HTML
	Details                                                                 [][2]string
}

type htmlChartSet struct {
	Target  string
	Summary string
	Charts  []htmlChart
}

// htmlChart is one SVG chart, laid out in Go: the template only places
// numbers and escaped text.
type htmlChart struct {
	Title, Unit, Label, Caption, Color string
	W, H                               int
	Left, Top, PlotRight, PlotBt       float64
	PlotW, PlotH                       float64
	Grid, XTicks                       []htmlTick
	Points                             string
	Dots                               []htmlPoint
	Bars                               []htmlBar
	Empty                              bool
	// Max is the value at the top of the plot; Limits are threshold lines.
	Max    float64
	Limits []htmlTick
}

// addLimits adds l's warn and fail bounds (× scale, in the chart's unit)
// as threshold lines, where they fall inside the plotted range.
func (ch *htmlChart) addLimits(l quality.Limit, scale float64) {
	for _, x := range []struct {
		name string
		v    float64
	}{{"warn", l.Warn * scale}, {"fail", l.Fail * scale}} {
		if x.v > 0 && x.v <= ch.Max {
			pos := round2(ch.PlotBt - x.v/ch.Max*ch.PlotH)
			t := htmlTick{Pos: pos, LabelPos: pos + 4, Label: x.name + " " + fmtTick(x.v)}
			// Two lines close together: keep their labels apart.
			if n := len(ch.Limits); n > 0 && math.Abs(ch.Limits[n-1].LabelPos-t.LabelPos) < 11 {
				t.LabelPos = ch.Limits[n-1].LabelPos - 11
			}
			ch.Limits = append(ch.Limits, t)
		}
	}
}

type htmlTick struct {
	Pos   float64
	Label string
	// LabelPos is where a threshold's label sits (its line's height,
	// moved apart from a neighbour's).
	LabelPos float64
}

type htmlPoint struct{ X, Y float64 }

type htmlBar struct{ X, Y, W, H float64 }

func statusClass(s result.Status) string {
	switch s {
	case result.Pass, result.Warn, result.Fail:
		return string(s)
	}
	return "skip"
}

func newHTMLPage(r *Report, o Options) *htmlPage {
	mask := ipMasker(r, o.ShowIP)
	p := &htmlPage{
		R: r, Headline: mask(Headline(r)), Class: statusClass(r.Verdict), Counts: countsLine(r.Checks),
		Instance: mask(r.Instance), Duration: fmt.Sprintf("%.1f s", r.DurationMS/1000),
	}
	if OutcomeOf(r).Verdictless() {
		p.Class = "skip" // not a verdict: never the colour of one
	}
	if p.Instance == "" {
		p.Instance = "(not given)"
	}
	if !r.StartedAt.IsZero() {
		p.Started = r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	dep := DependsOn(r.Checks)
	conv := func(i int, c result.Result) htmlCheck {
		h := htmlCheck{
			ID: c.ID, Target: mask(c.Target), Status: strings.ToUpper(string(c.Status)), Class: statusClass(c.Status),
			Phase: mask(c.Phase), Reason: codeHTML(mask(c.Reason)), Remedy: codeHTML(mask(c.Remedy)), Metrics: metricsLine(c.Metrics),
			Duration: humanMS(c.DurationMS), DependsOn: dep[i],
		}
		if c.Address != c.Target {
			h.Address = mask(c.Address)
		}
		for _, k := range sortedKeys(c.Details) {
			h.Details = append(h.Details, [2]string{k, mask(c.Details[k])})
		}
		return h
	}
	for i, f := range r.findings() {
		hf := htmlFinding{Severity: strings.ToUpper(string(f.Severity)), Class: statusClass(f.Severity), Title: mask(f.Title),
			Who: f.Who.Words(), Remedy: codeHTML(mask(f.Remedy)), Behind: mask(behind(f))}
		if i < MaxFindings {
			p.Findings = append(p.Findings, hf)
		} else {
			p.More = append(p.More, hf)
		}
	}
	for _, l := range SummaryLines(r) {
		p.Summary = append(p.Summary, [2]string{l[0], mask(l[1])})
	}
	p.Env = envRows(r, mask)
	for _, g := range groupsIndexed(r.Checks) {
		var cs []result.Result
		for _, i := range g.idx {
			cs = append(cs, r.Checks[i])
		}
		hg := htmlGroup{Layer: string(g.Layer), Class: statusClass(result.Verdict(cs))}
		for _, i := range g.idx {
			hg.Checks = append(hg.Checks, conv(i, r.Checks[i]))
		}
		p.Groups = append(p.Groups, hg)
	}
	for _, c := range r.Checks {
		if k, _ := result.KindOf(c.ID); k.Chart && len(c.Series) > 0 {
			p.Charts = append(p.Charts, chartSet(c, r.Thresholds, mask))
		}
	}
	if ips := publicIPs(r); len(ips) > 0 {
		var shown []string
		for _, ip := range ips {
			shown = append(shown, mask(ip))
			p.IPMasked = p.IPMasked || mask(ip) != ip
		}
		p.PublicIP = strings.Join(shown, ", ")
	}
	return p
}

// envRows are the environment block's rows for IT: this computer (name,
// OS, local address and interface, IPv6), the proxy in use (the "proxy"
// details of the checks), when and how long, and the tool's version.
func envRows(r *Report, mask func(string) string) [][2]string {
	var rows [][2]string
	add := func(k, v string) {
		if v != "" {
			rows = append(rows, [2]string{k, mask(v)})
		}
	}
	if e := r.Environment; e != nil {
		add("Computer name", e.Hostname)
		add("Operating system", e.OS)
		ip := e.LocalIP
		if ip != "" && e.Interface != "" {
			ip += " on " + e.Interface
		}
		add("Local IP", ip)
		add("IPv6", e.IPv6)
	}
	var proxies []string
	for _, c := range r.Checks {
		if v := c.Details["proxy"]; v != "" && !slices.Contains(proxies, v) {
			proxies = append(proxies, v)
		}
	}
	add("Proxy in use", strings.Join(proxies, ", "))
	return rows
}

// codeHTML escapes s and shows `backticked` spans as code.
func codeHTML(s string) template.HTML {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 {
		// An unpaired backtick: show it as it is.
		return template.HTML(template.HTMLEscapeString(s))
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && p != "" {
			b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
		} else {
			b.WriteString(template.HTMLEscapeString(p))
		}
	}
	return template.HTML(b.String())
}

// publicIPs are this network's public addresses as the TURN servers saw
// them: stun.binding's "mapped_address" (and any detail named like a
// public or mapped address), without ports, in order.
func publicIPs(r *Report) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range r.Checks {
		for _, k := range sortedKeys(c.Details) {
			if !(k == "mapped_address" || strings.Contains(k, "mapped") || strings.Contains(k, "public")) {
				continue
			}
			for _, f := range strings.FieldsFunc(c.Details[k], func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
				ip := f
				if h, _, err := net.SplitHostPort(f); err == nil {
					ip = h
				}
				if a, err := netip.ParseAddr(ip); err == nil && !seen[a.String()] {
					seen[a.String()] = true
					out = append(out, a.String())
				}
			}
		}
	}
	return out
}

// ipMasker returns a function that masks the public IPs in a text (unless
// show): 203.0.113.7 → 203.0.x.x, 2001:db8:1:2::5 → 2001:db8:x:x:…
// Loopback, private and link-local addresses identify nobody and are left
// as they are (the lab's "public" address is 127.0.0.1).
func ipMasker(r *Report, show bool) func(string) string {
	var ips []string
	for _, ip := range publicIPs(r) {
		if a, err := netip.ParseAddr(ip); err == nil && a.Unmap().IsGlobalUnicast() && !a.Unmap().IsPrivate() {
			ips = append(ips, ip)
		}
	}
	if show || len(ips) == 0 {
		return func(s string) string { return s }
	}
	// Longest first, so 10.0.0.10 is not half-replaced by 10.0.0.1.
	sort.Slice(ips, func(i, j int) bool { return len(ips[i]) > len(ips[j]) })
	var pairs []string
	for _, ip := range ips {
		pairs = append(pairs, ip, MaskIP(ip))
		if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
			pairs = append(pairs, a.StringExpanded(), MaskIP(ip))
		}
	}
	rep := strings.NewReplacer(pairs...)
	return rep.Replace
}

// MaskIP hides the host part of an address: the first two octets of IPv4
// (the provider) stay, the first two groups of IPv6. Anything else is
// masked entirely.
func MaskIP(s string) string {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return "x.x.x.x"
	case a.Is4() || a.Is4In6():
		b := a.Unmap().As4()
		return fmt.Sprintf("%d.%d.x.x", b[0], b[1])
	}
	b := a.As16()
	return fmt.Sprintf("%x:%x:x:x:…", uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3]))
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 360, 130
	// chartR leaves room right of the plot for the threshold labels, so a
	// label never sits over the bars or the line.
	chartL, chartR, chartT, chartB float64 = 44, 50, 20, 22
)

// chartSet draws a media result's per-second series: RTT, jitter and
// loss, each with the run's warn and fail thresholds (th may be nil) as
// dashed lines where they fall inside the plotted range.
func chartSet(c result.Result, th *Thresholds, mask func(string) string) htmlChartSet {
	set := htmlChartSet{Target: mask(c.Target), Summary: metricsLine(c.Metrics)}
	get := func(f func(result.Sample) float64) []htmlPoint {
		var ps []htmlPoint
		for _, s := range c.Series {
			v := f(s)
			if finite(s.T) && finite(v) {
				ps = append(ps, htmlPoint{s.T, v})
			}
		}
		return ps
	}
	rtt := lineChart("Round-trip time", "ms", "#2563eb", get(func(s result.Sample) float64 { return s.RTTMS }), 1)
	jit := lineChart("Jitter", "ms", "#7c3aed", get(func(s result.Sample) float64 { return s.JitterMS }), 1)
	loss := barChart("Packet loss", "%", "#dc2626", get(func(s result.Sample) float64 { return s.LossRatio * 100 }), 1)
	if th != nil {
		rtt.addLimits(th.Limits["rtt_ms"], 1)
		jit.addLimits(th.Limits["jitter_ms"], 1)
		loss.addLimits(th.Limits["loss_ratio"], 100)
	}
	set.Charts = append(set.Charts, rtt, jit, loss)
	return set
}

// niceMax rounds a chart's top up to 1, 2 or 5 × 10^n, at least min.
func niceMax(v, min float64) float64 {
	if v < min || !finite(v) {
		v = min
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func chartFrame(title, unit, color string, ps []htmlPoint, minTop float64) (htmlChart, func(htmlPoint) htmlPoint, float64) {
	ch := htmlChart{Title: title, Unit: unit, Color: color, W: chartW, H: chartH,
		Left: chartL, Top: chartT, PlotRight: chartW - chartR, PlotBt: chartH - chartB}
	ch.PlotW, ch.PlotH = ch.PlotRight-chartL, ch.PlotBt-chartT
	var maxV, maxT, sum float64
	minT := math.Inf(1)
	for _, p := range ps {
		maxV = math.Max(maxV, p.Y)
		maxT = math.Max(maxT, p.X)
		minT = math.Min(minT, p.X)
		sum += p.Y
	}
	// Each sample covers a window (a second) from its T: the measurement
	// lasted from the first window's start to the last one's end.
	step := 1.0
	for i := 1; i < len(ps); i++ {
		if d := ps[i].X - ps[i-1].X; d > 0 && d < step {
			step = d
		}
	}
	measured := 0.0
	if len(ps) > 0 {
		measured = maxT - minT + step
	}
	top := niceMax(maxV*1.1, minTop)
	ch.Max = top
	if maxT <= 0 {
		maxT = 1
	}
	for _, f := range []float64{0, 0.5, 1} {
		ch.Grid = append(ch.Grid, htmlTick{Pos: ch.PlotBt - f*ch.PlotH, Label: fmtTick(top * f)})
	}
	for _, f := range []float64{0, 0.5, 1} {
		ch.XTicks = append(ch.XTicks, htmlTick{Pos: chartL + f*ch.PlotW, Label: fmtTick(maxT*f) + " s"})
	}
	if len(ps) == 0 {
		ch.Empty = true
	} else {
		ch.Caption = fmt.Sprintf("average %s %s, highest %s %s, measured for %s s (%d samples)", fmtTick(round2(sum/float64(len(ps)))), unit, fmtTick(round2(maxV)), unit, fmtTick(round2(measured)), len(ps))
	}
	ch.Label = fmt.Sprintf("%s in %s over time. %s", title, unit, ch.Caption)
	at := func(p htmlPoint) htmlPoint {
		return htmlPoint{X: round2(chartL + p.X/maxT*ch.PlotW), Y: round2(ch.PlotBt - p.Y/top*ch.PlotH)}
	}
	return ch, at, maxT
}

// humanMS is "48 ms" or "5.0 s".
func humanMS(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func lineChart(title, unit, color string, ps []htmlPoint, minTop float64) htmlChart {
	ch, at, _ := chartFrame(title, unit, color, ps, minTop)
	var pts []string
	for _, p := range ps {
		q := at(p)
		pts = append(pts, fmt.Sprintf("%g,%g", q.X, q.Y))
		if len(ps) <= 60 {
			ch.Dots = append(ch.Dots, q)
		}
	}
	ch.Points = strings.Join(pts, " ")
	return ch
}

func barChart(title, unit, color string, ps []htmlPoint, minTop float64) htmlChart {
	ch, at, maxT := chartFrame(title, unit, color, ps, minTop)
	bw := ch.PlotW / math.Max(float64(len(ps)), maxT+1) * 0.8
	if bw < 1 {
		bw = 1
	}
	for _, p := range ps {
		q := at(p)
		x := math.Min(math.Max(q.X-bw/2, chartL), ch.PlotRight-bw)
		ch.Bars = append(ch.Bars, htmlBar{X: round2(x), Y: q.Y, W: round2(bw), H: round2(ch.PlotBt - q.Y)})
	}
	return ch
}

var htmlTmpl = template.Must(template.New("report").Parse(htmlSource))

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="ccp-preflight {{.R.Version}}">
<title>ccp-preflight: {{.Headline}}</title>
<style>
:root{--pass:#15803d;--warn:#b45309;--fail:#b91c1c;--skip:#6b7280;--ink:#111827;--mute:#4b5563;--line:#e5e7eb}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#f9fafb}
main{max-width:980px;margin:0 auto;padding:0 16px 32px}
.banner{color:#fff;padding:22px 24px;margin:0 0 20px}
.banner.pass{background:var(--pass)}.banner.warn{background:var(--warn)}.banner.fail{background:var(--fail)}.banner.skip{background:var(--skip)}
.banner h1{margin:0 auto;max-width:948px;font-size:24px;line-height:1.25}
.banner p{margin:6px auto 0;max-width:948px;opacity:.95}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 16px}
h2{font-size:18px;margin:0 0 10px}
h3{font-size:15px;margin:14px 0 6px}
.pill{display:inline-block;min-width:46px;text-align:center;border-radius:4px;padding:1px 6px;font-size:12px;font-weight:700;color:#fff}
.pill.pass{background:var(--pass)}.pill.warn{background:var(--warn)}.pill.fail{background:var(--fail)}.pill.skip{background:var(--skip)}
table{border-collapse:collapse;width:100%;table-layout:fixed}
col.st{width:64px}col.ck{width:172px}col.ms{width:190px}col.tm{width:64px}
td,th{text-align:left;vertical-align:top;padding:5px 6px;border-top:1px solid var(--line)}
th{font-size:12px;color:var(--mute);font-weight:600;border-top:0}
td.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
td.target{word-break:break-all}
.addr,.metrics,.dur{color:var(--mute);font-size:13px}
tr.more td{border-top:0;padding-top:0}
.reason{margin:0 0 2px}
.fixline{margin:0;padding:4px 8px;background:#fef3c7;border-left:3px solid var(--warn);font-size:14px}
.fail .fixline,.fixline.fail{background:#fee2e2;border-left-color:var(--fail)}
ol.fix li{margin:0 0 12px}
.behind,.dep,.who{color:var(--mute);font-size:13px}
.behind{margin:2px 0 0}
ol.fix code,td code,.reason code,.fixline code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
details{font-size:13px;color:var(--mute)}
details dl{display:grid;grid-template-columns:max-content auto;gap:0 10px;margin:4px 0}
details dt{font-weight:600}details dd{margin:0;word-break:break-all}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:10px}
figure{margin:0;min-width:0}
figcaption{font-size:12px;color:var(--mute)}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#4b5563}
dl.env{display:grid;grid-template-columns:max-content auto;gap:4px 14px;margin:0}
dl.env dt{font-weight:600}dl.env dd{margin:0}
.note{color:var(--mute);font-size:13px}
footer{color:var(--mute);font-size:12px;text-align:center}
@media print{body{background:#fff}.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}section{break-inside:avoid}}
</style>
</head>
<body>
<header class="banner {{.Class}}" role="banner">
<h1 id="verdict">{{.Headline}}</h1>
<p>Amazon Connect softphone preflight · region {{.R.Region}} · instance {{.Instance}}{{if .Started}} · {{.Started}}{{end}}</p>
<p id="counts">{{.Counts}}</p>
</header>
<main>
{{if .Findings}}<section id="fix">
<h2>What to change</h2>
<ol class="fix">
{{range .Findings}}<li class="finding"><span class="pill {{.Class}}">{{.Severity}}</span> <strong class="title">{{.Title}}</strong>
<p class="fixline {{.Class}}"><strong>Fix</strong> <span class="who">({{.Who}})</span><strong>:</strong> {{.Remedy}}</p>
<p class="behind">{{.Behind}}</p></li>
{{end}}</ol>
{{if .More}}<details class="more"><summary>{{len .More}} more finding(s)</summary><ol class="fix">
{{range .More}}<li class="finding"><span class="pill {{.Class}}">{{.Severity}}</span> <strong class="title">{{.Title}}</strong>
<p class="fixline {{.Class}}"><strong>Fix</strong> <span class="who">({{.Who}})</span><strong>:</strong> {{.Remedy}}</p>
<p class="behind">{{.Behind}}</p></li>
{{end}}</ol></details>
{{end}}</section>
{{else}}<section id="fix"><h2>What to change</h2><p>Nothing: every check that ran passed.</p></section>
{{end}}{{if .Summary}}<section id="summary">
<h2>Summary</h2>
<dl class="env">
{{range .Summary}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>
{{end}}</dl>
</section>
{{end}}<section id="checks">
<h2>Checks by layer</h2>
{{range .Groups}}<h3 class="layer"><span class="pill {{.Class}}">{{.Class}}</span> {{.Layer}}</h3>
<table>
<colgroup><col class="st"><col class="ck"><col><col class="ms"><col class="tm"></colgroup>
<thead><tr><th>Status</th><th>Check</th><th>Target</th><th>Measured</th><th>Took</th></tr></thead>
<tbody>
{{range .Checks}}<tr class="{{.Class}}"><td><span class="pill {{.Class}}">{{.Status}}</span></td><td class="id">{{.ID}}</td><td class="target">{{.Target}}{{if .Address}} <span class="addr">({{.Address}})</span>{{end}}{{if .DependsOn}} <span class="dep">(depends on <code>{{.DependsOn}}</code>)</span>{{end}}</td><td class="metrics">{{.Metrics}}</td><td class="dur">{{.Duration}}</td></tr>
{{if or .Reason .Remedy .Details}}<tr class="more {{.Class}}"><td></td><td colspan="4">
{{if .Reason}}<p class="reason">{{if .Phase}}<strong>{{.Phase}}:</strong> {{end}}{{.Reason}}</p>{{end}}
{{if .Remedy}}<p class="fixline {{.Class}}"><strong>Fix:</strong> {{.Remedy}}</p>{{end}}
{{if .Details}}<details><summary>details</summary><dl>{{range .Details}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl></details>{{end}}
</td></tr>
{{end}}{{end}}</tbody>
</table>
{{end}}</section>
{{if .Charts}}<section id="media">
<h2>Media quality over time</h2>
<p class="note">A paced Opus-like stream (50 packets/s) to each TURN server, measured every second; the dashed lines are the run's warn and fail thresholds.</p>
{{range .Charts}}<h3>{{.Target}}{{if .Summary}} <span class="metrics">· {{.Summary}}</span>{{end}}</h3>
<div class="charts">
{{range .Charts}}<figure>
<svg viewBox="0 0 {{.W}} {{.H}}" width="100%" role="img" aria-label="{{.Label}}">
<title>{{.Label}}</title>
{{$c := .}}<text x="{{.Left}}" y="11" font-weight="600">{{.Title}} ({{.Unit}})</text>
{{range .Grid}}<line x1="{{$c.Left}}" x2="{{$c.PlotRight}}" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#e5e7eb"/><text x="{{$c.Left}}" dx="-4" y="{{.Pos}}" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}<line x1="{{.Left}}" x2="{{.Left}}" y1="{{.Top}}" y2="{{.PlotBt}}" stroke="#9ca3af"/><line x1="{{.Left}}" x2="{{.PlotRight}}" y1="{{.PlotBt}}" y2="{{.PlotBt}}" stroke="#9ca3af"/>
{{range .XTicks}}<text x="{{.Pos}}" y="{{$c.H}}" dy="-6" text-anchor="middle">{{.Label}}</text>{{end}}
{{if .Empty}}<text x="{{.Left}}" dx="10" y="{{.PlotBt}}" dy="-10">no data</text>{{end}}
{{if .Points}}<polyline fill="none" stroke="{{.Color}}" stroke-width="1.8" stroke-linejoin="round" points="{{.Points}}"/>{{end}}
{{range .Dots}}<circle cx="{{.X}}" cy="{{.Y}}" r="2" fill="{{$c.Color}}"/>{{end}}
{{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{$c.Color}}"/>{{end}}
{{range .Limits}}<line class="limit" x1="{{$c.Left}}" x2="{{$c.PlotRight}}" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#b45309" stroke-dasharray="4 3"/><text class="limit-label" x="{{$c.PlotRight}}" dx="4" y="{{.LabelPos}}" text-anchor="start" fill="#b45309">{{.Label}}</text>{{end}}
</svg>
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}</div>
{{end}}</section>
{{end}}<section id="env">
<h2>Environment</h2>
<dl class="env">
<dt>Public IP</dt><dd id="public-ip">{{if .PublicIP}}{{.PublicIP}}{{if .IPMasked}} <span class="note">(masked; run with --show-ip to show it)</span>{{end}}{{else}}<span class="note">not known (no STUN answer)</span>{{end}}</dd>
{{range .Env}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>
{{end}}<dt>Region</dt><dd>{{.R.Region}}</dd>
<dt>Instance</dt><dd>{{.Instance}}</dd>
<dt>IP ranges</dt><dd>{{if .R.Ranges.Source}}{{.R.Ranges.Source}}{{else}}(none){{end}}{{if .R.Ranges.CreateDate}}, published {{.R.Ranges.CreateDate}}{{end}}{{if .R.Ranges.SyncToken}} <span class="note">(syncToken {{.R.Ranges.SyncToken}})</span>{{end}}</dd>
<dt>Started</dt><dd>{{if .Started}}{{.Started}}{{else}}(unknown){{end}}, took {{.Duration}}{{if .R.Interrupted}} <strong>(interrupted: partial report)</strong>{{end}}</dd>
<dt>Version</dt><dd>ccp-preflight {{.R.Version}} <span class="note">(report schema {{.R.Schema}})</span></dd>
</dl>
</section>
<footer>Made by ccp-preflight {{.R.Version}}. Send this file to your IT team: it holds no passwords or credentials.</footer>
</main>
</body>
</html>
`
