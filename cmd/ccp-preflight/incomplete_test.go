package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// noVerdict is the part of the JSON report that says whether it is one.
type noVerdict struct {
	Verdict, Outcome, Headline string
	Interrupted                bool
	Skip                       []string
	Checks                     []struct{ ID, Status, Reason string }
}

// TestCheckSkipEverythingIsNotChecked: --skip of every prefix tested
// nothing. Before the fix: READY, "0 passed", exit 0 (Nagios "UNKNOWN -
// READY"). Now NOT CHECKED, exit 3, and every check listed as left out.
// Leaving only ranges.freshness (the file's age) is no network test either.
func TestCheckSkipEverythingIsNotChecked(t *testing.T) {
	all := strings.Join(result.Prefixes(), ",")
	for _, tc := range []struct{ name, skip string }{
		{"every prefix", all},
		{"only ranges.freshness left", strings.ReplaceAll(all, "ranges", "ranges.membership")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "check", "--lab", "--skip", tc.skip, "--format", "json", "--no-progress")
			var rep noVerdict
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("%v (stderr %q)\n%s", err, errOut, out)
			}
			if code != exitIncomplete || rep.Outcome != "not_checked" || !strings.HasPrefix(rep.Headline, "NOT CHECKED") {
				t.Errorf("exit %d outcome %q headline %q; want 3, NOT CHECKED", code, rep.Outcome, rep.Headline)
			}
			listed := map[string]bool{}
			for _, c := range rep.Checks {
				listed[c.ID] = true
				if c.ID != "ranges.freshness" && (c.Status != "skip" || !strings.Contains(c.Reason, "left out by --skip")) {
					t.Errorf("%s: %s %q, want skip: left out by --skip", c.ID, c.Status, c.Reason)
				}
			}
			for _, k := range result.Kinds() {
				if !listed[k.ID] {
					t.Errorf("%s not listed as skipped", k.ID)
				}
			}
			code, out, _ = runCLI(t, "check", "--lab", "--skip", tc.skip, "--format", "nagios", "--no-progress")
			if code != 3 || !strings.HasPrefix(out, "CCP-PREFLIGHT UNKNOWN - NOT CHECKED") {
				t.Errorf("nagios exit %d %q", code, strings.SplitN(out, "\n", 2)[0])
			}
		})
	}
}

// TestCheckSkipUnknownPrefix: a --skip that names no check is an input
// error naming the valid prefixes (before: silently ignored, everything ran
// while the user believed a part was left out).
func TestCheckSkipUnknownPrefix(t *testing.T) {
	for _, bad := range []string{"meda", "med", "media.qualty", "tcp,xyz"} {
		code, out, errOut := runCLI(t, "check", "--lab", "--skip", bad, "--no-progress")
		if code != exitInput || out != "" || strings.Count(errOut, "\n") != 1 ||
			!strings.Contains(errOut, "--skip") || !strings.Contains(errOut, strings.Join(result.Prefixes(), ", ")) {
			t.Errorf("--skip %s: exit %d, stdout %q, stderr %q; want exit 2 and one line naming the valid prefixes", bad, code, out, errOut)
		}
	}
	// A full id and a trailing dot are fine.
	if code, _, errOut := runCLI(t, "check", "--lab", "--skip", "media.,capacity,turn.allocate,nat.mapping", "--no-progress"); code != exitOK {
		t.Errorf("valid --skip: exit %d: %s", code, errOut)
	}
}

// TestCheckSkipMediaHTML: the HTML of `--skip media` says media was not
// tested, in its banner and in the media checks' rows.
func TestCheckSkipMediaHTML(t *testing.T) {
	code, out, errOut := runCLI(t, "check", "--lab", "--skip", "media", "--format", "html", "--no-progress")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Not tested (left out by --skip): media.", `<td class="id">media.quality</td>`, `<td class="id">media.relay</td>`, "not tested: left out by --skip media"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// TestCheckExplicitEmptyLists: `https_endpoints: []` and `turn_servers: []`
// mean none (before: the catalog's endpoints were probed anyway); an
// absent key means the catalog's.
func TestCheckExplicitEmptyLists(t *testing.T) {
	cfg := writeFile(t, "site.yaml", "https_endpoints: []\n")
	code, out, errOut := runCLI(t, "check", "--lab", "--config", cfg, "--skip", "media", "--format", "json", "--no-progress")
	var rep noVerdict
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("exit %d %v: %s", code, err, errOut)
	}
	ran := map[string]int{}
	for _, c := range rep.Checks {
		if c.Status != "skip" {
			ran[c.ID]++
		}
		if (c.ID == "tcp.connect" || c.ID == "tls.handshake") && (c.Status != "skip" || !strings.Contains(c.Reason, "https_endpoints: []")) {
			t.Errorf("https_endpoints: [] still probed %s: %s %q", c.ID, c.Status, c.Reason)
		}
	}
	if ran["stun.binding"] == 0 {
		t.Errorf("the TURN servers (absent key: the catalog's) were not checked")
	}
	// Both lists empty, and the credentialed TURN checks (which use the
	// ICE servers' URLs, not turn_servers) and the signaling WebSocket (its
	// own host, not https_endpoints) left out: nothing of the
	// network to test.
	cfg = writeFile(t, "none.yaml", "https_endpoints: []\nturn_servers: []\n")
	code, out, _ = runCLI(t, "check", "--lab", "--config", cfg, "--skip", "turn.allocate,media.relay,signaling", "--format", "json", "--no-progress")
	rep = noVerdict{}
	_ = json.Unmarshal([]byte(out), &rep)
	if code != exitIncomplete || rep.Outcome != "not_checked" {
		t.Errorf("both lists empty: exit %d outcome %q, want 3 not_checked", code, rep.Outcome)
	}
}
