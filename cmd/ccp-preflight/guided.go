package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/report"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// guidedReport is the file name of the HTML report a guided run writes.
const guidedReport = "ccp-preflight-report.html"

// defaultRegion is offered first (Enter picks it).
const defaultRegion = "us-east-1"

// runGuided is the agent's double-click run: it offers the regions as a
// numbered list with their cities, asks for the instance and whether to
// check from the browser too (--browser), runs the check, shows only the
// verdict and the findings, saves the HTML report for IT (in the current
// directory — the program's own folder when double-clicked in Explorer —
// or, when that is not writable, in the user's Documents or home folder)
// and says where, repeats the verdict and waits for Enter so the window
// stays open. extra are more check flags (tests pass --lab). A closed
// stdin ends it with the usage error, as a run with no arguments would.
func runGuided(in io.Reader, stdout, stderr io.Writer, extra ...string) int {
	r := bufio.NewReader(in)
	fmt.Fprintln(stdout, "ccp-preflight: is this network ready for Amazon Connect softphone calls?")
	fmt.Fprintln(stdout, "(Your IT team can tell you the region and the instance name of your Contact Control Panel.)")
	regions := catalog.Regions()
	fmt.Fprintln(stdout, "\nAmazon Connect regions:")
	for i, reg := range regions {
		fmt.Fprintf(stdout, "  %2d  %-15s %s\n", i+1, reg, catalog.City(reg))
	}
	var region string
	for {
		fmt.Fprintf(stdout, "Region (its number or name) [%s]: ", defaultRegion)
		line, err := r.ReadString('\n')
		answer := strings.TrimSpace(line)
		if err != nil && answer == "" {
			fmt.Fprint(stderr, "\n"+usage)
			return exitInput
		}
		if region = pickRegion(answer, regions); region != "" {
			break
		}
		fmt.Fprintf(stdout, "%q is not an Amazon Connect region: type a number from 1 to %d, or a name such as %s.\n", answer, len(regions), defaultRegion)
	}
	var instance string
	for {
		fmt.Fprint(stdout, "Instance name or the address of your CCP (https://NAME.my.connect.aws), or Enter to skip: ")
		line, _ := r.ReadString('\n')
		if alias, err := catalog.ParseInstance(line); err == nil {
			instance = alias
			break
		}
		fmt.Fprintln(stdout, "That is not an instance name or address.")
	}
	fmt.Fprint(stdout, "Also check from inside your web browser? A tab opens; click Allow if it asks for the microphone. [y/N]: ")
	browser, _ := r.ReadString('\n')
	where, note := guidedReportPath(guidedDirs())
	args := append([]string{"--region", region, "--no-progress", "--save-html", where}, extra...)
	askedBrowser := false
	if a := strings.ToLower(strings.TrimSpace(browser)); a == "y" || a == "yes" {
		args = append(args, "--browser")
		askedBrowser = true
	}
	if instance != "" {
		args = append(args, "--instance", instance)
	}
	fmt.Fprintln(stdout, "\nChecking (about 10 seconds)…")
	fmt.Fprintln(stdout)
	var g guidedCheck
	code := checkWith(args, stdout, stderr, &g)
	if askedBrowser && g.rep != nil {
		if s := browserNotRun(g.rep.Checks); s != "" {
			fmt.Fprintf(stdout, "\n%s\n", s)
		}
	}
	if code != exitInput {
		if note != "" {
			fmt.Fprintf(stdout, "\n%s\n", note)
		}
		fmt.Fprintf(stdout, "\nA report to send to your IT team was saved here:\n  %s\n", where)
	}
	if g.rep != nil {
		fmt.Fprintf(stdout, "\n%s\n", report.Headline(g.rep))
	}
	fmt.Fprint(stdout, "\nPress Enter to close this window.")
	_, _ = r.ReadString('\n')
	return code
}

// browserNotRun says, for a guided run that asked for the browser check,
// that the browser's checks were skipped and why (the first one's reason):
// skips are no findings, so the brief screen would otherwise not show that
// the check the person asked for did not happen. "" when one ran.
func browserNotRun(checks []result.Result) string {
	var ids []string
	reason := ""
	for _, c := range checks {
		if k, _ := result.KindOf(c.ID); k.Layer != result.LayerBrowser || k.Local {
			continue // browser.policy reads this computer's settings: not the page
		}
		if c.Status != result.Skip {
			return ""
		}
		if len(ids) == 0 || ids[len(ids)-1] != c.ID {
			ids = append(ids, c.ID)
		}
		if reason == "" {
			reason = c.Reason
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return fmt.Sprintf("Not checked from inside your browser (%s): %s", strings.Join(ids, ", "), reason)
}

// pickRegion reads the region answer: empty (the default), a number of
// the list, or a region name in any case; "" when it is none of them.
func pickRegion(answer string, regions []string) string {
	if answer == "" {
		return defaultRegion
	}
	if n, err := strconv.Atoi(answer); err == nil {
		if n >= 1 && n <= len(regions) {
			return regions[n-1]
		}
		return ""
	}
	answer = strings.ToLower(answer)
	if _, err := catalog.Lookup(answer); err == nil {
		return answer
	}
	return ""
}

// guidedDirs are where the guided run may save its report, in order: the
// current directory (the program's folder when double-clicked), the user's
// Documents folder, the home folder.
func guidedDirs() []string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	if home, err := os.UserHomeDir(); err == nil {
		docs := filepath.Join(home, "Documents")
		if runtime.GOOS == "windows" {
			if p := os.Getenv("USERPROFILE"); p != "" {
				docs = filepath.Join(p, "Documents")
			}
		}
		dirs = append(dirs, docs, home)
	}
	return dirs
}

// guidedReportPath returns the report's path in the first of dirs where a
// file can be created, and a note when it is not the first (the program's
// own folder); the last resort is the bare file name.
func guidedReportPath(dirs []string) (path, note string) {
	for i, d := range dirs {
		f, err := os.CreateTemp(d, ".ccp-preflight-write-test-*")
		if err != nil {
			continue
		}
		f.Close()
		os.Remove(f.Name())
		p := filepath.Join(d, guidedReport)
		if i > 0 {
			note = fmt.Sprintf("(The folder %s cannot be written to, so the report went to %s instead.)", dirs[0], d)
		}
		return p, note
	}
	return guidedReport, ""
}
