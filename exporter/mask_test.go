package exporter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// TestServedReportsMaskThePublicIP (issue #15 item 10): serve masks this
// network's public IP in every format it serves unless --show-ip (the
// report's own copy is not changed). Before the fix only /report.html
// masked it; /report, /report.json, text, junit, prom and nagios carried
// it.
func TestServedReportsMaskThePublicIP(t *testing.T) {
	const ip = "198.51.100.23"
	rep := fakeReport(1)
	rep.Checks = append(rep.Checks, result.Result{ID: "nat.mapping", Target: turn, Status: result.Warn,
		Reason: "this network maps 10.0.0.5 to " + ip + ":40001 and " + ip + ":40002", Details: map[string]string{"public_address": ip}})
	for _, show := range []bool{false, true} {
		e, err := New(Options{Interval: time.Minute, Render: report.Options{ShowIP: show, FailOn: result.Fail},
			Run: func(context.Context) *report.Report { return rep }})
		if err != nil {
			t.Fatal(err)
		}
		e.RunOnce(context.Background())
		h := e.Handler()
		for _, path := range []string{"/report", "/report.json", "/report.html", "/report?format=text", "/report?format=junit",
			"/report?format=prom", "/report?format=nagios", "/report?format=html", "/report?format=json"} {
			code, _, body := get(t, h, "GET", path)
			if code != 200 {
				t.Fatalf("%s: %d %s", path, code, body)
			}
			has := strings.Contains(body, ip)
			switch {
			case !show && has:
				t.Errorf("%s shows the public IP %s without --show-ip", path, ip)
			case !show && path != "/report?format=prom" && path != "/report?format=text" && !strings.Contains(body, "198.51.x.x"):
				// prom carries no addresses, and text's first screen (the
				// findings and the summary) does not quote this warning.
				t.Errorf("%s: no masked address 198.51.x.x in %.300q", path, body)
			case show && !has && (path == "/report" || path == "/report.json"):
				t.Errorf("%s with --show-ip lacks the public IP", path)
			}
			if strings.Contains(body, "10.0.0.x") {
				t.Errorf("%s masked a private address", path)
			}
		}
	}
	if rep.Checks[0].Details["mapped_address"] != ip+":40000" {
		t.Errorf("serving changed the report itself: %v", rep.Checks[0].Details)
	}
}
