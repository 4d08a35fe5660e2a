package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/quality"
	"github.com/ccp-preflight/ccp-preflight/result"
)

func TestHTMLContent(t *testing.T) {
	out := render(t, "html", sampleReport(), Options{})
	for _, want := range []string{
		`<h1 id="verdict">NOT READY: softphone calls will fail or break from this network (1 failed, 1 warning).</h1>`,
		`class="banner fail"`,
		"What to change",
		"stun.binding", turnB, "no answer to STUN Binding on UDP 3478 within 2s",
		"<strong>Fix:</strong> " + strings.ReplaceAll(turnRemedy, "'", "&#39;"),
		"jitter 38.2 ms is above 30 ms",
		// Layers, in order.
		"This computer</h3>", "DNS</h3>", "Published IP ranges</h3>", "Web and signaling (TCP 443)</h3>", "Media reachability (UDP 3478)</h3>", "Call quality</h3>",
		// Environment.
		`<dd id="public-ip">203.0.x.x <span class="note">(masked; run with --show-ip to show it)</span>`,
		"embedded, published 2026-11-02T18:13:05Z", "ccp-preflight v1.2.3", "us-east-1", "acme-support",
		"Media quality over time",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	if strings.Index(out, "This computer</h3>") > strings.Index(out, "Call quality</h3>") {
		t.Error("layers out of order")
	}
	// The public IP never appears unmasked: not in the environment, not in
	// stun.binding's or turn.allocate's details.
	if strings.Contains(out, publicIP) {
		t.Error("public IP shown although ShowIP is false")
	}
	shown := render(t, "html", sampleReport(), Options{ShowIP: true})
	if !strings.Contains(shown, `<dd id="public-ip">`+publicIP+`</dd>`) {
		t.Error("ShowIP: public IP not shown")
	}
	// Charts: media.quality with series on two TURN servers, 3 charts each.
	if n := strings.Count(out, "<svg "); n != 6 {
		t.Errorf("%d svg charts, want 6 (RTT, jitter, loss × 2 TURN servers)", n)
	}
	if strings.Count(out, "<polyline ") != 4 || strings.Count(out, "<rect ") < 2 {
		t.Errorf("want RTT and jitter lines and loss bars: %d polylines, %d bars", strings.Count(out, "<polyline "), strings.Count(out, "<rect "))
	}
	if !strings.Contains(out, "Packet loss in % over time. average 0.48 %, highest 1.2 %") {
		t.Error("loss chart label lacks the figures")
	}
	// Self-contained: no script, no external reference.
	for _, re := range []string{`(?i)<script`, `(?i)<link`, `(?i)(src|href)\s*=`, `(?i)url\(`, `(?i)@import`, `(?i)https?://`} {
		if regexp.MustCompile(re).MatchString(out) {
			t.Errorf("html is not self-contained: matches %s", re)
		}
	}
}

func TestHTMLEscapes(t *testing.T) {
	r := sampleReport()
	r.Checks[0].Reason = `<script>alert("x")</script>`
	r.Checks[0].Target = `"><img src=x onerror=alert(1)>`
	out := render(t, "html", r, Options{})
	if strings.Contains(out, "<script>") || strings.Contains(out, "<img") {
		t.Fatal("report text reaches the page unescaped")
	}
}

func TestHTMLKeepsLoopbackAndPrivate(t *testing.T) {
	r := passingReport()
	for i := range r.Checks {
		if r.Checks[i].Details["mapped_address"] != "" {
			r.Checks[i].Details["mapped_address"] = "127.0.0.1:5000"
		}
	}
	r.Checks[1].Address = "127.0.0.1"
	out := render(t, "html", r, Options{})
	if !strings.Contains(out, `<dd id="public-ip">127.0.0.1</dd>`) || strings.Contains(out, "127.0.x.x") {
		t.Error("a loopback mapped address (the lab) must not be masked")
	}
}

func TestHTMLMaskIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":       "203.0.x.x",
		"2001:db8:1:2::5":    "2001:db8:x:x:…",
		"::ffff:198.51.100.": "x.x.x.x",
	} {
		if got := MaskIP(in); got != want {
			t.Errorf("MaskIP(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHTMLInBrowser renders the report in headless Chromium: the page loads
// without console errors or blocked fetches, the verdict is in the DOM, and
// a screenshot is made (kept in $CCP_PREFLIGHT_SCREENSHOT_DIR if set).
func TestHTMLInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian package chromium; `make deps` installs it): skipping the browser test")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, []byte(render(t, "html", sampleReport(), Options{})), 0o644); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "report.png")
	if d := os.Getenv("CCP_PREFLIGHT_SCREENSHOT_DIR"); d != "" {
		png = filepath.Join(d, "report.png")
	}
	run := func(extra ...string) (stdout, stderr string) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, extra...)
		args = append(args, "file://"+page)
		cmd := exec.CommandContext(ctx, chromium, args...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, e.String())
		}
		return o.String(), e.String()
	}
	dom, logs := run("--dump-dom")
	if !strings.Contains(dom, `<h1 id="verdict">NOT READY: softphone calls will fail`) || !strings.Contains(dom, turnRemedy[:40]) {
		t.Errorf("verdict or remedy not in the browser's DOM:\n%.2000s", dom)
	}
	_, shotLogs := run("--screenshot="+png, "--window-size=1100,2400", "--hide-scrollbars")
	for _, l := range strings.Split(logs+shotLogs, "\n") {
		if strings.Contains(l, "CONSOLE") || strings.Contains(l, "Uncaught") || strings.Contains(l, "Refused to") || strings.Contains(l, "Content Security Policy") {
			t.Errorf("browser console: %s", l)
		}
	}
	fi, err := os.Stat(png)
	if err != nil || fi.Size() < 20_000 {
		t.Fatalf("screenshot %s: %v (size %d); want a rendered page", png, err, sizeOf(fi))
	}
	// The banner is the verdict's colour: the pixel at the top left is red.
	if c := topLeftPixel(t, png); !(c[0] > 150 && c[1] < 80 && c[2] < 80) {
		t.Errorf("banner pixel %v: want the fail red", c)
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// TestHTMLChartsDrawThresholds: with the run's thresholds, a chart whose
// values come near a limit draws it as a labelled line; without them, none.
func TestHTMLChartsDrawThresholds(t *testing.T) {
	r := sampleReport()
	th, _ := quality.Profile("connect")
	r.Thresholds = ThresholdsOf(th)
	var b strings.Builder
	if err := HTML(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `class="limit"`) || !strings.Contains(b.String(), ">warn 30<") {
		t.Errorf("no jitter warn line at 30 ms in the charts")
	}
	r.Thresholds = nil
	b.Reset()
	_ = HTML(&b, r, Options{})
	if strings.Contains(b.String(), `class="limit"`) {
		t.Errorf("threshold lines drawn without thresholds")
	}
}

// TestHTMLFirstScreen: the page opens with the verdict and the findings
// (who fixes each, the exact change, backticks as code), then the summary,
// then the checks; the environment block names this computer, its OS,
// local address, proxy and the tool; chart captions say how long the
// media was measured.
func TestHTMLFirstScreen(t *testing.T) {
	r := sampleReport()
	r.Environment = &Environment{Hostname: "agent-pc-7", OS: "Windows 10.0.22631 (windows/amd64)", LocalIP: "192.168.1.23", Interface: "Wi-Fi", IPv6: "no IPv6 route (the softphone uses IPv4)"}
	r.Checks[0].Remedy = "run `ccp-preflight ranges update` then <retry>"
	r.Checks = append(r.Checks, result.Result{ID: "env.proxy", Target: "acme-support.my.connect.aws:443", Status: result.Pass, Details: map[string]string{"proxy": "direct"}})
	out := render(t, "html", r, Options{})
	fix, summary, checks := strings.Index(out, `<section id="fix">`), strings.Index(out, `<section id="summary">`), strings.Index(out, `<section id="checks">`)
	if fix < 0 || summary < fix || checks < summary {
		t.Fatalf("sections out of order: fix %d summary %d checks %d", fix, summary, checks)
	}
	first := out[fix:summary]
	for _, want := range []string{
		`<span class="pill fail">FAIL</span> <strong class="title">The TURN server TurnNlb-8d3f2a7b1c9e4f05.elb.us-east-1.amazonaws.com does not answer on UDP 3478 (the others do)</strong>`,
		`<span class="who">(the network / IT team)</span>`,
		"<code>ccp-preflight ranges export --region us-east-1</code>",
		"behind it: stun.binding on 1 target",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("the findings section lacks %q:\n%s", want, first)
		}
	}
	if strings.Index(first, "FAIL") > strings.Index(first, "WARN") {
		t.Error("the failure is not first")
	}
	if !strings.Contains(out, "<code>ccp-preflight ranges update</code> then &lt;retry&gt;") {
		t.Error("backticks in a check's remedy are not code (or the rest is not escaped)")
	}
	for _, want := range []string{"<dt>Computer name</dt><dd>agent-pc-7</dd>", "<dt>Operating system</dt><dd>Windows 10.0.22631 (windows/amd64)</dd>",
		"<dt>Local IP</dt><dd>192.168.1.23 on Wi-Fi</dd>", "<dt>Proxy in use</dt><dd>direct</dd>", "<dt>IPv6</dt>", "ccp-preflight v1.2.3", "2026-11-24 21:30:00 UTC"} {
		if !strings.Contains(out[strings.Index(out, `<section id="env">`):], want) {
			t.Errorf("environment lacks %q", want)
		}
	}
	if !strings.Contains(out, "measured for 5 s (5 samples)") {
		t.Error("chart captions do not say how long the media was measured")
	}
	if !strings.Contains(out, "white-space:nowrap") || strings.Contains(out, "overflow-wrap:anywhere}") {
		t.Error("check ids may break mid-word")
	}
}

// TestHTMLLayoutInBrowser lays the page out in headless Chromium and
// measures it: no check id wraps onto two lines, and no threshold label
// overlaps a loss bar or a line of its chart. (A copy of the page gets a
// measuring script; the report itself has none and forbids scripts.)
func TestHTMLLayoutInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	r := sampleReport()
	th, _ := quality.Profile("connect")
	r.Thresholds = ThresholdsOf(th)
	// Loss near the warn line and jitter near its limits, so labels and
	// data share heights.
	for i := range r.Checks[0].Series {
		r.Checks[0].Series[i].LossRatio = 0.011
		r.Checks[0].Series[i].JitterMS = 31
	}
	page := render(t, "html", r, Options{})
	page = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`).ReplaceAllString(page, "")
	page = strings.Replace(page, "</body>", `<script>
const out = [];
document.querySelectorAll('td.id').forEach(td => {
  const rg = document.createRange(); rg.selectNodeContents(td);
  if (rg.getClientRects().length > 1 || td.scrollWidth > td.clientWidth + 1) out.push('id:' + td.textContent);
});
document.querySelectorAll('svg').forEach(svg => {
  const data = [...svg.querySelectorAll('rect, polyline, circle')].map(e => e.getBoundingClientRect());
  svg.querySelectorAll('text.limit-label').forEach(tx => {
    const b = tx.getBoundingClientRect();
    for (const d of data) if (b.left < d.right && b.right > d.left && b.top < d.bottom && b.bottom > d.top) { out.push('label:' + tx.textContent); break; }
  });
});
document.body.setAttribute('data-layout', out.length ? out.join('|') : 'ok');
</script></body>`, 1)
	f := filepath.Join(t.TempDir(), "layout.html")
	if err := os.WriteFile(f, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, width := range []string{"1100,1600", "760,1600"} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		out, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
			"--window-size="+width, "--dump-dom", "file://"+f).Output()
		cancel()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		m := regexp.MustCompile(`data-layout="([^"]*)"`).FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("the measuring script did not run (width %s)", width)
		}
		if m[1] != "ok" {
			t.Errorf("width %s: layout problems: %s", width, m[1])
		}
	}
}
