package ranges

import (
	"fmt"
	"io"
	"regexp"
	"strings"
)

// The nftables export's names: named sets of the allowlist's prefixes and
// one regular chain, added to the admin's own table.
const (
	NFTChain       = "ccp_preflight"
	nftSetConnect4 = "ccp_connect_v4"
	nftSetConnect6 = "ccp_connect_v6"
	nftSetWeb4     = "ccp_web_v4"
	nftSetWeb6     = "ccp_web_v6"
)

// DefaultNFTFamily and DefaultNFTTable are the table the nftables export
// goes into unless told otherwise: Debian's and Red Hat's stock
// /etc/nftables.conf table.
const (
	DefaultNFTFamily = "inet"
	DefaultNFTTable  = "filter"
)

var nftName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)

// ParseNFTTable reads "FAMILY NAME" (or "FAMILY/NAME"): the admin's table.
// Families: inet, ip (IPv4 rules only), ip6 (IPv6 rules only).
func ParseNFTTable(s string) (family, name string, err error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '/' })
	if len(f) != 2 || !nftName.MatchString(f[1]) {
		return "", "", fmt.Errorf("nftables table %q: want FAMILY NAME, e.g. %q", s, DefaultNFTFamily+" "+DefaultNFTTable)
	}
	switch f[0] {
	case "inet", "ip", "ip6":
		return f[0], f[1], nil
	}
	return "", "", fmt.Errorf("nftables table %q: family %q has no IP rules here: want inet, ip or ip6", s, f[0])
}

// writeNFT writes the allowlist as named sets and a regular chain in the
// admin's own table, not a table of its own: every base chain on a hook
// runs, so an accept in a separate table cannot undo a drop in the site's
// table. The admin jumps to the chain from their own base chain, before
// the rules that drop; it accepts what Connect needs and returns
// everything else to their rules. Loading the file again replaces the
// sets' elements and the chain's rules (it flushes them first).
func (s *Set) writeNFT(w io.Writer, o ExportOptions, rules []Rule) error {
	if o.Hook != "forward" && o.Hook != "output" {
		return fmt.Errorf("unknown hook %q: want forward or output", o.Hook)
	}
	fam, table := o.NFTFamily, o.NFTTable
	if fam == "" {
		fam, table = DefaultNFTFamily, DefaultNFTTable
	}
	if _, _, err := ParseNFTTable(fam + " " + table); err != nil {
		return err
	}
	v4, v6 := fam != "ip6", fam != "ip"
	// The prefixes of each set, in rule order, once.
	sets := map[string][]Rule{}
	seen := map[string]bool{}
	for _, r := range rules {
		if r.Direction != "outbound" {
			continue // the return rule uses the Connect sets
		}
		is6 := r.Entry.Prefix.Addr().Is6()
		if (is6 && !v6) || (!is6 && !v4) {
			continue
		}
		name := nftSetConnect4
		switch {
		case r.Protocol == "udp" && is6:
			name = nftSetConnect6
		case r.Protocol == "tcp" && !is6:
			name = nftSetWeb4
		case r.Protocol == "tcp":
			name = nftSetWeb6
		}
		if k := name + r.Entry.Prefix.String(); !seen[k] {
			seen[k] = true
			sets[name] = append(sets[name], r)
		}
	}
	var names []string
	for _, n := range []string{nftSetConnect4, nftSetConnect6, nftSetWeb4, nftSetWeb6} {
		if (strings.HasSuffix(n, "4") && v4) || (strings.HasSuffix(n, "6") && v6) {
			names = append(names, n)
		}
	}
	typ := func(n string) string {
		if strings.HasSuffix(n, "6") {
			return "ipv6_addr"
		}
		return "ipv4_addr"
	}
	tbl := fam + " " + table
	jumpFrom := []string{"forward"}
	if o.Hook == "output" {
		jumpFrom = []string{"output", "input"}
	}
	fmt.Fprintln(w, "#!/usr/sbin/nft -f")
	s.banner(w, o, "#")
	fmt.Fprintf(w, "#\n# Adds named sets and the regular chain %q to YOUR table %s (change it with\n", NFTChain, tbl)
	fmt.Fprintln(w, "# --nft-table FAMILY NAME); it adds no base chain and no table of its own, because an")
	fmt.Fprintln(w, "# accept in another table cannot undo a drop in yours (every base chain on a hook runs).")
	fmt.Fprintf(w, "# Load it with nft -f FILE, then jump to the chain from your own %s chain, before\n", strings.Join(jumpFrom, " and "))
	fmt.Fprintln(w, "# the rules that drop, e.g. once:")
	for _, c := range jumpFrom {
		fmt.Fprintf(w, "#   nft insert rule %s %s jump %s\n", tbl, c, NFTChain)
	}
	fmt.Fprintf(w, "# or, in your ruleset file, \"jump %s\" as the first rule of that chain.\n", NFTChain)
	fmt.Fprintln(w, "# The chain accepts what Connect needs and returns everything else to your rules.")
	fmt.Fprintln(w, "# Loading this file again replaces the sets' elements and the chain's rules.")
	// Declare (a no-op when they exist), then flush, then fill: reloading
	// neither fails on existing elements nor duplicates rules.
	fmt.Fprintf(w, "table %s {\n", tbl)
	for _, n := range names {
		fmt.Fprintf(w, "\tset %s { type %s; flags interval; auto-merge; }\n", n, typ(n))
	}
	fmt.Fprintf(w, "\tchain %s {\n\t}\n}\n", NFTChain)
	for _, n := range names {
		fmt.Fprintf(w, "flush set %s %s\n", tbl, n)
	}
	fmt.Fprintf(w, "flush chain %s %s\n", tbl, NFTChain)
	fmt.Fprintf(w, "table %s {\n", tbl)
	for _, n := range names {
		if len(sets[n]) == 0 {
			continue
		}
		fmt.Fprintf(w, "\tset %s {\n\t\ttype %s; flags interval; auto-merge;\n\t\telements = {\n", n, typ(n))
		for i, r := range sets[n] {
			sep := ","
			if i == len(sets[n])-1 {
				sep = ""
			}
			fmt.Fprintf(w, "\t\t\t%s%s\t# %s\n", r.Entry.Prefix, sep, s.comment(r))
		}
		fmt.Fprintln(w, "\t\t}\n\t}")
	}
	fmt.Fprintf(w, "\tchain %s {\n", NFTChain)
	eph := o.Ephemeral
	for _, n := range names {
		if len(sets[n]) == 0 {
			continue
		}
		ipf := "ip"
		if strings.HasSuffix(n, "6") {
			ipf = "ip6"
		}
		switch n {
		case nftSetConnect4, nftSetConnect6:
			fmt.Fprintf(w, "\t\t%s daddr @%s udp dport %d accept comment \"Connect media (TURN), AMAZON_CONNECT %s and GLOBAL\"\n", ipf, n, TURNPort, o.Region)
			fmt.Fprintf(w, "\t\t%s saddr @%s udp sport %d udp dport %d-%d accept comment \"TURN replies to the agents' ephemeral ports (stateless return path)\"\n", ipf, n, TURNPort, eph.Lo, eph.Hi)
		default:
			fmt.Fprintf(w, "\t\t%s daddr @%s tcp dport %d accept comment \"Connect web and signaling, EC2 %s and GLOBAL, CLOUDFRONT\"\n", ipf, n, HTTPSPort, o.Region)
		}
	}
	fmt.Fprintln(w, "\t}\n}")
	return nil
}
