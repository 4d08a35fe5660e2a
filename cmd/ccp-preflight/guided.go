package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/catalog"
)

// guidedReport is the HTML report a guided run writes, in the current
// directory (the program's own folder when double-clicked in Explorer).
const guidedReport = "ccp-preflight-report.html"

// runGuided is the agent's double-click run: it asks for the region, the
// instance and whether to check from the browser too (--browser), runs the check with a text report on screen and an HTML
// report to send to IT, and waits for Enter so the window stays open.
// extra are more check flags (tests pass --lab). A closed stdin ends it
// with the usage error, as a run with no arguments would.
func runGuided(in io.Reader, stdout, stderr io.Writer, extra ...string) int {
	r := bufio.NewReader(in)
	fmt.Fprintln(stdout, "ccp-preflight: is this network ready for Amazon Connect softphone calls?")
	fmt.Fprintln(stdout, "(Your IT team can tell you the region and the instance name of your Contact Control Panel.)")
	var region string
	for {
		fmt.Fprintf(stdout, "\nAmazon Connect region (%s) [us-east-1]: ", strings.Join(catalog.Regions(), ", "))
		line, err := r.ReadString('\n')
		region = strings.TrimSpace(line)
		if err != nil && region == "" {
			fmt.Fprint(stderr, "\n"+usage)
			return exitInput
		}
		if region == "" {
			region = "us-east-1"
		}
		if _, lerr := catalog.Lookup(region); lerr == nil {
			break
		}
		fmt.Fprintf(stdout, "%q is not an Amazon Connect region.\n", region)
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
	args := append([]string{"--region", region, "--no-progress", "--save-html", guidedReport}, extra...)
	if a := strings.ToLower(strings.TrimSpace(browser)); a == "y" || a == "yes" {
		args = append(args, "--browser")
	}
	if instance != "" {
		args = append(args, "--instance", instance)
	}
	fmt.Fprintln(stdout, "\nChecking (about 10 seconds)…")
	code := runCheck(args, stdout, stderr)
	if code != exitInput {
		where := guidedReport
		if wd, err := os.Getwd(); err == nil {
			where = filepath.Join(wd, guidedReport)
		}
		fmt.Fprintf(stdout, "\nA report to send to your IT team: %s\n", where)
	}
	fmt.Fprint(stdout, "\nPress Enter to close this window.")
	_, _ = r.ReadString('\n')
	return code
}
