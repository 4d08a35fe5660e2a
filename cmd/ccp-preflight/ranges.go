package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/ranges"
)

const rangesHelp = `Usage: ccp-preflight ranges COMMAND [flags]

AWS's published IP ranges (ip-ranges.json), for firewalls that allow
Amazon Connect by address (admin guide Option 2). The data is the newer of
the copy built into this program and the one 'ranges update' keeps in the
user cache, unless --ranges FILE|URL says otherwise.

Commands:
  list     the prefixes of a service and region          (--service --region --ipv6 --aggregate)
  lookup   which published entries contain addresses     (IP...)
  export   the Option 2 allowlist as firewall rules       (--format nftables|iptables|csv|json|cidr --region R)
           or the Option 1 domain allowlist                (--format domains|squid --region R [--instance A] [--saml])
  diff     what changed between two files                 (OLD NEW [--service S])
  update   download the current file into the user cache  ([--url URL] [--cache-dir DIR])

Examples:
  ccp-preflight ranges list --service AMAZON_CONNECT --region us-east-1
  ccp-preflight ranges lookup 15.193.6.10 2600:f0f2:7101::1
  ccp-preflight ranges export --format nftables --region us-east-1 > connect.nft
  ccp-preflight ranges diff old-ip-ranges.json embedded --service AMAZON_CONNECT
  ccp-preflight ranges update

Run 'ccp-preflight ranges COMMAND --help' for a command's flags.
`

const rangesListHelp = `Usage: ccp-preflight ranges list [--service S] [--region R] [--ipv6] [--aggregate] [--ranges FILE|URL]

Prints the published prefixes, one per line: PREFIX REGION SERVICE BORDER-GROUP,
sorted by address. IPv4 by default, IPv6 with --ipv6. The data's date and
age against AWS's 30-day notice go to stderr.

With --region R (other than GLOBAL), the GLOBAL entries are included too,
because AWS's Option 2 rules allow "GLOBAL and the instance's region";
--no-global leaves them out. Names are matched ignoring case; an unknown
name is an error that suggests the nearest valid one.

--aggregate prints only the minimal set of CIDRs covering the selection
(overlapping and adjacent prefixes merged).

Examples:
  ccp-preflight ranges list --service AMAZON_CONNECT --region us-east-1
  ccp-preflight ranges list --service AMAZON_CONNECT --region us-east-1 --ipv6
  ccp-preflight ranges list --service CLOUDFRONT --aggregate
  ccp-preflight ranges list --service EC2 --region eu-west-2 --no-global --ranges ip-ranges.json
`

const rangesLookupHelp = `Usage: ccp-preflight ranges lookup [--ranges FILE|URL] IP...

Prints every published entry containing each address (IPv4 or IPv6):
prefix, region, service and network border group, broadest prefix first.
An address in no entry says so. Exit code 0 when every address is in some
entry, 1 when one is in none, 2 for a malformed address.

Examples:
  ccp-preflight ranges lookup 15.193.6.10 2600:f0f2:7101::1
  ccp-preflight ranges lookup $(dig +short TurnNlb-d76454ac48d20c1e.elb.us-east-1.amazonaws.com)
`

const rangesExportHelp = `Usage: ccp-preflight ranges export --format nftables|iptables|csv|json|cidr --region R [flags]
       ccp-preflight ranges export --format domains|squid --region R [--instance A] [--saml[=false]] [--signin new] [--replica-region R]

domains and squid write the domain allowlist AWS recommends (Option 1):
every host and wildcard the CCP uses, with port and protocol, one per line
with a comment naming its purpose and where AWS documents it (domains), or
an ACL snippet for squid.conf (squid; check it with 'squid -k parse'). They
need no ranges file. --saml picks the CloudFront set of instances with SAML
(and adds AWS Sign-In), --saml=false the set of instances without; neither
lists both. --signin new adds the new sign-in experience's domains,
--replica-region the Global Resiliency replica's TURN, signaling and
sign-in/region-discovery domains.

Writes the Option 2 allowlist for an Amazon Connect region (admin guide,
"Set up your network"):
  AMAZON_CONNECT, GLOBAL and R   -> UDP 3478 outbound (media, TURN)
  EC2, GLOBAL and R              -> TCP 443 outbound
  CLOUDFRONT, all                -> TCP 443 outbound
  AMAZON_CONNECT, GLOBAL and R   -> UDP from 3478 inbound to the agents' ephemeral
                                    ports (the return path on stateless firewalls)
Every rule carries a comment naming its ip-ranges.json entry and the file's
createDate. AWS publishes new ranges 30 days before use: regenerate within
30 days (after 'ccp-preflight ranges update').

nftables: named sets and a regular chain "ccp_preflight" added to YOUR table
(--nft-table, default "inet filter"; a separate table's accept cannot undo a
drop in yours). Load with nft -f, then jump to it from your own chain, once:
  nft insert rule inet filter forward jump ccp_preflight
(--hook output: from output and input, for this host). iptables: iptables-restore
input with chains CCP-PREFLIGHT-OUT and CCP-PREFLIGHT-IN (IPv4; --ipv6 for
ip6tables-restore). csv and json: one row per rule. cidr: the distinct
prefixes, one per line.

Examples:
  ccp-preflight ranges export --format nftables --region us-east-1 > connect.nft && nft -c -f connect.nft
  ccp-preflight ranges export --format iptables --region eu-west-2 | iptables-restore --noflush
  ccp-preflight ranges export --format csv --region ap-southeast-2 > allowlist.csv
  ccp-preflight ranges export --format domains --region us-east-1 --instance myalias --saml
  ccp-preflight ranges export --format squid --region eu-west-2 --instance myalias > /etc/squid/conf.d/connect.conf
`

const rangesDiffHelp = `Usage: ccp-preflight ranges diff OLD NEW [--service S[,S...]]

Lists the prefixes added and removed per service and region between two
ip-ranges.json files (each a FILE, an http(s) URL or "embedded"), with both
files' dates. Exit code 0 when nothing changed for the selected services,
1 when something did (for cron jobs that alert), 2 for a bad file.

Examples:
  ccp-preflight ranges diff old/ip-ranges.json new/ip-ranges.json
  ccp-preflight ranges diff embedded ~/.cache/ccp-preflight/ip-ranges.json --service AMAZON_CONNECT,EC2
`

const rangesUpdateHelp = `Usage: ccp-preflight ranges update [--url URL] [--cache-dir DIR]

Downloads the current ip-ranges.json (conditional request: nothing is
transferred when the cached copy is current), validates every entry,
refuses a file older than the cached one and replaces the cache atomically.
Later runs use the newer of the cache and the built-in copy. On any failure
the cached file stays as it was.

Exit code 0 when the cache is current, 1 when the download failed, 2 when
the server sent something that is not a valid ip-ranges.json (e.g. a
captive-portal page) or an older file.

Examples:
  ccp-preflight ranges update
  ccp-preflight ranges update --url https://mirror.example.com/ip-ranges.json --cache-dir /var/cache/ccp-preflight
`

// rangesGCPercent: a ranges command is a short process that loads one
// 2.6 MB file and exits; collecting less often saves a few milliseconds of
// its ~20–40 ms (measured, docs/RANGES.md) for at most ~30 MB of heap.
const rangesGCPercent = 400

func runRanges(args []string, stdout, stderr io.Writer) int {
	defer debug.SetGCPercent(debug.SetGCPercent(rangesGCPercent))
	if len(args) == 0 {
		fmt.Fprint(stderr, rangesHelp)
		return exitInput
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return rangesList(rest, stdout, stderr)
	case "lookup":
		return rangesLookup(rest, stdout, stderr)
	case "export":
		return rangesExport(rest, stdout, stderr)
	case "diff":
		return rangesDiff(rest, stdout, stderr)
	case "update":
		return rangesUpdate(rest, stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, rangesHelp)
		return exitOK
	}
	msg := fmt.Sprintf("ccp-preflight ranges: unknown command %q", sub)
	if s := ranges.Suggest(sub, []string{"list", "lookup", "export", "diff", "update"}); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	fmt.Fprintf(stderr, "%s; see 'ccp-preflight ranges --help'\n", msg)
	return exitInput
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments (e.g. "diff OLD NEW --service S").
func parseInterspersed(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, int, bool) {
	var pos []string
	for {
		if code, stop := parseFlags(fs, args, stderr); stop {
			return nil, code, true
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, 0, false
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), 0, false
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// rangesErr prints err in one line and returns its exit code: ranges input
// errors (bad file, bad name) are input errors, exit 2.
func rangesErr(stderr io.Writer, cmd string, err error) int {
	var ie *ranges.InputError
	if errors.As(err, &ie) {
		err = &config.InputError{Msg: err.Error()}
	}
	return fail(stderr, cmd, err)
}

// openRanges loads the data for --ranges and prints any note about it.
func openRanges(from string, stderr io.Writer) (*ranges.Set, error) {
	s, err := ranges.Open(from)
	if err != nil {
		return nil, err
	}
	if s.Note != "" {
		fmt.Fprintf(stderr, "note: %s\n", s.Note)
	}
	return s, nil
}

// pickName resolves a --service or --region value against the names in the
// file: exact or case-insensitive match, else an input error suggesting
// the nearest name.
func pickName(flagName, v string, names []string, source string) (string, error) {
	if v == "" {
		return "", nil
	}
	if c := ranges.Canonical(v, names); c != "" {
		return c, nil
	}
	if source == ranges.SourceEmbedded {
		source = "the embedded ip-ranges.json"
	}
	msg := fmt.Sprintf("--%s %q: not in %s", flagName, v, source)
	if s := ranges.Suggest(v, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += fmt.Sprintf(" (one of %s)", strings.Join(names, ", "))
	}
	return "", &config.InputError{Msg: msg}
}

func rangesList(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ranges list", rangesListHelp, stdout, stderr)
	service := fs.String("service", "", "only this `SERVICE` (e.g. AMAZON_CONNECT, EC2, CLOUDFRONT)")
	region := fs.String("region", "", "only this `REGION` and GLOBAL (e.g. us-east-1)")
	ipv6 := fs.Bool("ipv6", false, "IPv6 prefixes instead of IPv4")
	aggregate := fs.Bool("aggregate", false, "print the minimal CIDR set covering the selection")
	noGlobal := fs.Bool("no-global", false, "with --region, leave out the GLOBAL entries")
	from := fs.String("ranges", "", "ip-ranges.json `FILE|URL` (default: newer of the cache and the embedded copy)")
	pos, code, stop := parseInterspersed(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "ccp-preflight ranges list: unexpected argument %q (see --help)\n", pos[0])
		return exitInput
	}
	set, err := openRanges(*from, stderr)
	if err != nil {
		return rangesErr(stderr, "ranges list", err)
	}
	svc, err := pickName("service", *service, set.Services(), set.Source)
	if err != nil {
		return rangesErr(stderr, "ranges list", err)
	}
	reg, err := pickName("region", *region, set.Regions(), set.Source)
	if err != nil {
		return rangesErr(stderr, "ranges list", err)
	}
	var sel []ranges.Prefix
	if reg != "" && reg != ranges.Global && !*noGlobal {
		for _, p := range set.ForRegion(svc, reg) {
			if p.Prefix.Addr().Is6() == *ipv6 {
				sel = append(sel, p)
			}
		}
	} else {
		sel = set.Filter(svc, reg, *ipv6)
		ranges.SortPrefixes(sel)
	}
	fmt.Fprintf(stderr, "ranges: %s\n", set.Freshness(time.Now()))
	if len(sel) == 0 {
		fmt.Fprintln(stderr, "ranges list: no entry matches")
		return exitOK
	}
	if *aggregate {
		ps := make([]netip.Prefix, len(sel))
		for i, p := range sel {
			ps[i] = p.Prefix
		}
		agg := ranges.Aggregate(ps)
		for _, p := range agg {
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintf(stderr, "ranges list: %d entries aggregated into %d prefixes\n", len(sel), len(agg))
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, p := range sel {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Prefix, p.Region, p.Service, orDash(p.NetworkBorderGroup))
	}
	tw.Flush()
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func rangesLookup(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ranges lookup", rangesLookupHelp, stdout, stderr)
	from := fs.String("ranges", "", "ip-ranges.json `FILE|URL` (default: newer of the cache and the embedded copy)")
	pos, code, stop := parseInterspersed(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "ccp-preflight ranges lookup: give one or more IP addresses (see --help)")
		return exitInput
	}
	addrs := make([]netip.Addr, len(pos))
	for i, s := range pos {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fail(stderr, "ranges lookup", &config.InputError{Msg: fmt.Sprintf("%q is not an IP address", s)})
		}
		addrs[i] = a
	}
	set, err := openRanges(*from, stderr)
	if err != nil {
		return rangesErr(stderr, "ranges lookup", err)
	}
	if now := time.Now(); set.Stale(now) {
		fmt.Fprintf(stderr, "note: ranges data: %s\n", set.Freshness(now))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	missing := 0
	for i, a := range addrs {
		found := set.Lookup(a)
		if len(found) == 0 {
			missing++
			fmt.Fprintf(tw, "%s: in no published AWS range\n", pos[i])
			continue
		}
		fmt.Fprintf(tw, "%s:\n", pos[i])
		for _, p := range found {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Prefix, p.Region, p.Service, orDash(p.NetworkBorderGroup))
		}
	}
	tw.Flush()
	if missing > 0 {
		return exitFail
	}
	return exitOK
}

func rangesExport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ranges export", rangesExportHelp, stdout, stderr)
	format := fs.String("format", "", "output format: "+strings.Join(ranges.ExportFormats, "|")+"|"+strings.Join(catalog.DomainFormats, "|"))
	region := fs.String("region", "", "Amazon Connect `REGION` of the instance (e.g. us-east-1)")
	hook := fs.String("hook", "forward", "nftables: the chain to jump from: forward (a firewall in the path) or output (this host: output and input)")
	nftTable := fs.String("nft-table", ranges.DefaultNFTFamily+" "+ranges.DefaultNFTTable, "nftables: `FAMILY NAME` of your own table the sets and chain go into (inet, ip or ip6)")
	ipv6 := fs.Bool("ipv6", false, "iptables format: IPv6 rules for ip6tables-restore")
	eph := fs.String("ephemeral", ranges.DefaultEphemeral.String(), "agents' ephemeral UDP `PORTS` for the return rule (Windows 49152-65535, Linux 32768-61000)")
	from := fs.String("ranges", "", "ip-ranges.json `FILE|URL` (default: newer of the cache and the embedded copy)")
	dom := domainFlags(fs)
	pos, code, stop := parseInterspersed(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "ccp-preflight ranges export: unexpected argument %q (see --help)\n", pos[0])
		return exitInput
	}
	in := func(msg string, a ...any) int {
		return fail(stderr, "ranges export", &config.InputError{Msg: fmt.Sprintf(msg, a...)})
	}
	if f := ranges.Canonical(*format, catalog.DomainFormats); f != "" {
		return exportDomains(fs, f, *region, dom, stdout, stderr)
	}
	switch {
	case *format == "":
		return in("--format is required: one of %s", strings.Join(append(ranges.ExportFormats[:len(ranges.ExportFormats):len(ranges.ExportFormats)], catalog.DomainFormats...), ", "))
	case ranges.Canonical(*format, ranges.ExportFormats) == "":
		all := append(ranges.ExportFormats[:len(ranges.ExportFormats):len(ranges.ExportFormats)], catalog.DomainFormats...)
		msg := fmt.Sprintf("--format %q: want one of %s", *format, strings.Join(all, ", "))
		if s := ranges.Suggest(*format, all); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return in("%s", msg)
	case *region == "":
		return in("--region is required (the Amazon Connect instance's region, e.g. us-east-1)")
	case *hook != "forward" && *hook != "output":
		return in("--hook %q: want forward or output", *hook)
	}
	pr, err := ranges.ParsePortRange(*eph)
	if err != nil {
		return in("--ephemeral: %v", err)
	}
	nftFam, nftName, err := ranges.ParseNFTTable(*nftTable)
	if err != nil {
		return in("--nft-table: %v", err)
	}
	set, err := openRanges(*from, stderr)
	if err != nil {
		return rangesErr(stderr, "ranges export", err)
	}
	var regions []string
	for _, r := range set.Regions() {
		if r != ranges.Global {
			regions = append(regions, r)
		}
	}
	reg, err := pickName("region", *region, regions, set.Source)
	if err != nil {
		return rangesErr(stderr, "ranges export", err)
	}
	for _, v6 := range []bool{false, true} {
		if len(set.Filter("AMAZON_CONNECT", reg, v6)) == 0 {
			fam := map[bool]string{false: "IPv4", true: "IPv6"}[v6]
			fmt.Fprintf(stderr, "note: %s has no %s AMAZON_CONNECT ranges of its own in this file; only the GLOBAL ones are included (is Amazon Connect offered there?)\n", reg, fam)
		}
	}
	if now := time.Now(); set.Stale(now) {
		fmt.Fprintf(stderr, "note: ranges data: %s\n", set.Freshness(now))
	}
	o := ranges.ExportOptions{Format: ranges.Canonical(*format, ranges.ExportFormats), Region: reg, Hook: *hook, IPv6: *ipv6, Ephemeral: pr, NFTFamily: nftFam, NFTTable: nftName}
	if err := set.WriteExport(stdout, o); err != nil {
		return fail(stderr, "ranges export", err)
	}
	return exitOK
}

func rangesDiff(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ranges diff", rangesDiffHelp, stdout, stderr)
	service := fs.String("service", "", "only these `SERVICE`s, comma-separated (e.g. AMAZON_CONNECT,EC2)")
	pos, code, stop := parseInterspersed(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) != 2 {
		fmt.Fprintln(stderr, "ccp-preflight ranges diff: give two files: OLD NEW (see --help)")
		return exitInput
	}
	old, err := openRanges(pos[0], stderr)
	if err != nil {
		return rangesErr(stderr, "ranges diff", err)
	}
	cur, err := openRanges(pos[1], stderr)
	if err != nil {
		return rangesErr(stderr, "ranges diff", err)
	}
	names := union(old.Services(), cur.Services())
	var services []string
	for _, s := range strings.Split(*service, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		c, err := pickName("service", s, names, "either file")
		if err != nil {
			return rangesErr(stderr, "ranges diff", err)
		}
		services = append(services, c)
	}
	d := ranges.Compare(old, cur, services...)
	date := func(s *ranges.Set) string {
		return fmt.Sprintf("createDate %s syncToken %s", s.CreateDate.Format(ranges.CreateDateLayout), s.SyncToken)
	}
	fmt.Fprintf(stdout, "old: %s (%s)\n", old.Source, date(old))
	fmt.Fprintf(stdout, "new: %s (%s)\n", cur.Source, date(cur))
	if cur.CreateDate.Before(old.CreateDate) {
		fmt.Fprintln(stdout, "note: NEW is older than OLD")
	}
	scope := "all services"
	if len(services) > 0 {
		scope = strings.Join(services, ", ")
	}
	if !d.Changed() {
		fmt.Fprintf(stdout, "no change (%s)\n", scope)
		return exitOK
	}
	for _, c := range d.Changes {
		fmt.Fprintf(stdout, "%s %s: %d added, %d removed\n", c.Service, c.Region, len(c.Added), len(c.Removed))
		for _, p := range c.Added {
			fmt.Fprintf(stdout, "  + %s\n", p)
		}
		for _, p := range c.Removed {
			fmt.Fprintf(stdout, "  - %s\n", p)
		}
	}
	for _, b := range d.BorderGroups {
		fmt.Fprintf(stdout, "%s %s: %s border group %s -> %s\n", b.Service, b.Region, b.Prefix, b.Old, b.New)
	}
	a, r := d.Counts()
	fmt.Fprintf(stdout, "total: %d added, %d removed in %d service/region pairs", a, r, len(d.Changes))
	if len(d.BorderGroups) > 0 {
		fmt.Fprintf(stdout, ", %d border-group changes", len(d.BorderGroups))
	}
	fmt.Fprintf(stdout, " (%s)\n", scope)
	return exitFail
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func rangesUpdate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ranges update", rangesUpdateHelp, stdout, stderr)
	url := fs.String("url", ranges.DefaultURL, "where to download ip-ranges.json from")
	dir := fs.String("cache-dir", "", "cache `DIR` (default: the user cache directory + /ccp-preflight)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up the download after this long")
	pos, code, stop := parseInterspersed(fs, args, stderr)
	if stop {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "ccp-preflight ranges update: unexpected argument %q (see --help)\n", pos[0])
		return exitInput
	}
	if !strings.HasPrefix(*url, "https://") && !strings.HasPrefix(*url, "http://") {
		return fail(stderr, "ranges update", &config.InputError{Msg: fmt.Sprintf("--url %q: want an http(s) URL", *url)})
	}
	if *timeout <= 0 {
		return fail(stderr, "ranges update", &config.InputError{Msg: "--timeout must be positive"})
	}
	ctx, stopSig := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stopSig()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := ranges.Update(ctx, ranges.UpdateOptions{URL: *url, CacheDir: *dir})
	if err != nil {
		return rangesErr(stderr, "ranges update", err)
	}
	now := time.Now()
	switch {
	case res.NotModified:
		fmt.Fprintf(stdout, "%s is current (the server says not modified): %s\n", res.Path, res.Set.Freshness(now))
	case res.Unchanged:
		fmt.Fprintf(stdout, "%s already holds this file: %s\n", res.Path, res.Set.Freshness(now))
	default:
		was := "no cached copy before"
		if !res.Previous.IsZero() {
			was = "was createDate " + res.Previous.Format(ranges.CreateDateLayout)
		}
		fmt.Fprintf(stdout, "updated %s: createDate %s, %d entries (%s)\n", res.Path, res.Set.CreateDate.Format(ranges.CreateDateLayout), len(res.Set.Prefixes), was)
		if res.Set.Stale(now) {
			fmt.Fprintf(stderr, "note: %s\n", res.Set.Freshness(now))
		}
	}
	return exitOK
}
