package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAlertmanagerInhibition runs the real Alertmanager (Debian's
// prometheus-alertmanager) with contrib/alertmanager's configuration and
// sends it what Prometheus would for a site without DNS — the finding's
// alert, the site's NOT READY and ten per-check alerts — plus one failing
// check at another site that has no finding alert. One DNS outage must be
// one alert: only the finding (and the other site's check) stay active.
func TestAlertmanagerInhibition(t *testing.T) {
	const conf = "../contrib/alertmanager/ccp-preflight-alertmanager.yml"
	if amtool, err := exec.LookPath("amtool"); err == nil {
		if b, err := exec.Command(amtool, "check-config", conf).CombinedOutput(); err != nil {
			t.Fatalf("amtool check-config: %v\n%s", err, b)
		}
	}
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if bin, err = exec.LookPath("alertmanager"); err != nil {
			t.Skip("Alertmanager not installed (Debian package prometheus-alertmanager)")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.path="+t.TempDir(), "--web.listen-address="+addr,
		"--cluster.listen-address=", "--log.level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr + "/api/v2/"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(base + "status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("Alertmanager did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	type alert struct {
		Labels map[string]string `json:"labels"`
		Starts string            `json:"startsAt"`
	}
	now := time.Now().UTC().Format(time.RFC3339)
	site := map[string]string{"site": "paris", "instance": "10.1.0.5:9469", "job": "ccp-preflight"}
	mk := func(extra map[string]string, base map[string]string) alert {
		l := map[string]string{}
		for k, v := range base {
			l[k] = v
		}
		for k, v := range extra {
			l[k] = v
		}
		return alert{Labels: l, Starts: now}
	}
	alerts := []alert{
		mk(map[string]string{"alertname": "CCPPreflightFinding", "severity": "critical", "check": "dns.resolve", "who": "computer",
			"title": "Nothing resolves: this computer has no working DNS or internet connection"}, site),
		mk(map[string]string{"alertname": "CCPPreflightSiteNotReady", "severity": "critical", "verdict": "fail"}, site),
	}
	for i, c := range []string{"dns.resolve", "dns.resolve", "tcp.connect", "tcp.connect", "tls.handshake", "stun.binding", "stun.binding", "turn.auth-challenge", "media.quality", "ranges.membership"} {
		alerts = append(alerts, mk(map[string]string{"alertname": "CCPPreflightCheckFailing", "severity": "warning", "check": c, "target": fmt.Sprintf("name-%d.example.net", i)}, site))
	}
	lyon := map[string]string{"site": "lyon", "instance": "10.2.0.5:9469", "job": "ccp-preflight"}
	alerts = append(alerts, mk(map[string]string{"alertname": "CCPPreflightCheckFailing", "severity": "warning", "check": "stun.binding", "target": "turn.example.net:3478"}, lyon))
	body, _ := json.Marshal(alerts)
	resp, err := http.Post(base+"alerts", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("posting alerts: %v %v\n%s", err, resp, logs.String())
	}
	resp.Body.Close()

	want := []string{"CCPPreflightCheckFailing lyon", "CCPPreflightFinding paris"}
	var got []string
	for {
		got = nil
		resp, err := http.Get(base + "alerts?active=true&inhibited=false&silenced=false")
		if err != nil {
			t.Fatal(err)
		}
		var active []alert
		err = json.NewDecoder(resp.Body).Decode(&active)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range active {
			got = append(got, a.Labels["alertname"]+" "+a.Labels["site"])
		}
		slices.Sort(got)
		if slices.Equal(got, want) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("active, not inhibited alerts:\n  %s\nwant:\n  %s\n%s", strings.Join(got, "\n  "), strings.Join(want, "\n  "), logs.String())
	}
}
