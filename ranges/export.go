package ranges

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Ports of the Option 2 allowlist (docs/CONNECT.md).
const (
	TURNPort  = 3478 // AMAZON_CONNECT media (TURN), UDP
	HTTPSPort = 443  // EC2 (signaling, API) and CLOUDFRONT (static assets), TCP
)

// PortRange is an inclusive range of local ports.
type PortRange struct{ Lo, Hi int }

// DefaultEphemeral covers the browsers' ephemeral UDP ports on Windows
// (49152–65535) and Linux (32768–61000): the stateless-firewall return
// rule must let replies from TURN reach them.
var DefaultEphemeral = PortRange{32768, 65535}

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Lo, r.Hi) }

// ParsePortRange parses "LO-HI" (1–65535, LO <= HI).
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || l < 1 || h > 65535 || l > h {
		return PortRange{}, fmt.Errorf("port range %q: want LO-HI within 1-65535", s)
	}
	return PortRange{l, h}, nil
}

// Rule is one allow rule of the Option 2 allowlist.
type Rule struct {
	// Direction is "outbound" (this network to AWS) or "inbound" (the
	// stateless-firewall return path).
	Direction string
	Protocol  string // "udp" or "tcp"
	// RemotePort is the AWS side's port (3478 or 443).
	RemotePort int
	// LocalPorts is set for inbound rules: the agents' ephemeral ports.
	LocalPorts PortRange
	// Entry is the ip-ranges.json entry the rule comes from.
	Entry Prefix
}

// Allowlist returns the Option 2 rules for region (docs/CONNECT.md):
// AMAZON_CONNECT (GLOBAL and region) → UDP 3478 out; EC2 (GLOBAL and
// region) → TCP 443 out; CLOUDFRONT (all) → TCP 443 out; and the
// stateless-firewall return rule: AMAZON_CONNECT UDP from 3478 in to the
// ephemeral ports. Both address families, sorted by address in each group.
func (s *Set) Allowlist(region string, eph PortRange) []Rule {
	var out []Rule
	connect := s.ForRegion("AMAZON_CONNECT", region)
	for _, p := range connect {
		out = append(out, Rule{Direction: "outbound", Protocol: "udp", RemotePort: TURNPort, Entry: p})
	}
	for _, p := range s.ForRegion("EC2", region) {
		out = append(out, Rule{Direction: "outbound", Protocol: "tcp", RemotePort: HTTPSPort, Entry: p})
	}
	for _, p := range s.ForRegion("CLOUDFRONT", "") {
		out = append(out, Rule{Direction: "outbound", Protocol: "tcp", RemotePort: HTTPSPort, Entry: p})
	}
	for _, p := range connect {
		out = append(out, Rule{Direction: "inbound", Protocol: "udp", RemotePort: TURNPort, LocalPorts: eph, Entry: p})
	}
	return out
}

// ExportFormats are the formats WriteExport accepts.
var ExportFormats = []string{"nftables", "iptables", "csv", "json", "cidr"}

// ExportOptions shape an export.
type ExportOptions struct {
	Format string
	Region string
	// Hook is where the nftables export says to jump to its chain from:
	// "forward" (a firewall between agents and the internet, the default)
	// or "output" (this host's own firewall: output and input).
	Hook string
	// NFTFamily and NFTTable name the admin's own nftables table the
	// nftables export adds its sets and chain to (default inet filter).
	NFTFamily, NFTTable string
	// IPv6 makes the iptables format ip6tables-restore input (IPv6 rules).
	IPv6      bool
	Ephemeral PortRange
}

// comment is the per-rule comment: source entry and the file's createDate.
func (s *Set) comment(r Rule) string {
	nbg := r.Entry.NetworkBorderGroup
	if nbg == "" {
		nbg = "-"
	}
	return fmt.Sprintf("%s %s %s nbg=%s createDate=%s", r.Entry.Service, r.Entry.Region, r.Entry.Prefix, nbg, s.CreateDate.Format(CreateDateLayout))
}

func (s *Set) banner(w io.Writer, o ExportOptions, lead string) {
	fmt.Fprintf(w, "%s Amazon Connect softphone allowlist for %s (admin guide Option 2: IP ranges)\n", lead, o.Region)
	fmt.Fprintf(w, "%s from ip-ranges.json createDate %s syncToken %s (%s)\n", lead, s.CreateDate.Format(CreateDateLayout), s.SyncToken, s.Source)
	fmt.Fprintf(w, "%s AWS publishes new ranges 30 days before use: regenerate within 30 days (ccp-preflight ranges update).\n", lead)
}

// WriteExport writes the allowlist for o.Region in o.Format.
func (s *Set) WriteExport(w io.Writer, o ExportOptions) error {
	if o.Ephemeral == (PortRange{}) {
		o.Ephemeral = DefaultEphemeral
	}
	if o.Hook == "" {
		o.Hook = "forward"
	}
	rules := s.Allowlist(o.Region, o.Ephemeral)
	bw := bufio.NewWriter(w)
	var err error
	switch o.Format {
	case "nftables":
		err = s.writeNFT(bw, o, rules)
	case "iptables":
		s.writeIPTables(bw, o, rules)
	case "csv":
		s.writeCSV(bw, rules)
	case "json":
		err = s.writeJSON(bw, o, rules)
	case "cidr":
		s.banner(bw, o, "#")
		var ps []netip.Prefix
		seen := map[netip.Prefix]bool{}
		for _, r := range rules {
			if !seen[r.Entry.Prefix] {
				seen[r.Entry.Prefix] = true
				ps = append(ps, r.Entry.Prefix)
			}
		}
		sortAddrs(ps)
		for _, p := range ps {
			fmt.Fprintln(bw, p)
		}
	default:
		return fmt.Errorf("unknown format %q: want one of %s", o.Format, strings.Join(ExportFormats, ", "))
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func (s *Set) writeIPTables(w io.Writer, o ExportOptions, rules []Rule) {
	cmd := "iptables"
	if o.IPv6 {
		cmd = "ip6tables"
	}
	s.banner(w, o, "#")
	fmt.Fprintf(w, "# Load with: %s-restore --noflush < FILE, then jump to the chains, e.g.\n", cmd)
	fmt.Fprintf(w, "#   %s -I FORWARD -j CCP-PREFLIGHT-OUT; %s -I FORWARD -j CCP-PREFLIGHT-IN\n", cmd, cmd)
	fmt.Fprintf(w, "# (host firewall: OUTPUT and INPUT). %s rules only: use --ipv6 for the other family.\n", map[bool]string{false: "IPv4", true: "IPv6"}[o.IPv6])
	fmt.Fprintln(w, "*filter")
	fmt.Fprintln(w, ":CCP-PREFLIGHT-OUT - [0:0]")
	fmt.Fprintln(w, ":CCP-PREFLIGHT-IN - [0:0]")
	for _, r := range rules {
		if r.Entry.Prefix.Addr().Is6() != o.IPv6 {
			continue
		}
		if r.Direction == "outbound" {
			fmt.Fprintf(w, "-A CCP-PREFLIGHT-OUT -d %s -p %s -m %s --dport %d -m comment --comment %q -j ACCEPT\n",
				r.Entry.Prefix, r.Protocol, r.Protocol, r.RemotePort, s.comment(r))
		} else {
			fmt.Fprintf(w, "-A CCP-PREFLIGHT-IN -s %s -p %s -m %s --sport %d --dport %d:%d -m comment --comment %q -j ACCEPT\n",
				r.Entry.Prefix, r.Protocol, r.Protocol, r.RemotePort, r.LocalPorts.Lo, r.LocalPorts.Hi, s.comment(r))
		}
	}
	fmt.Fprintln(w, "COMMIT")
}

func (s *Set) writeCSV(w io.Writer, rules []Rule) {
	fmt.Fprintln(w, "direction,protocol,remote_cidr,remote_port,local_ports,service,region,network_border_group,create_date")
	for _, r := range rules {
		lp := ""
		if r.Direction == "inbound" {
			lp = r.LocalPorts.String()
		}
		fmt.Fprintf(w, "%s,%s,%s,%d,%s,%s,%s,%s,%s\n", r.Direction, r.Protocol, r.Entry.Prefix, r.RemotePort, lp,
			r.Entry.Service, r.Entry.Region, r.Entry.NetworkBorderGroup, s.CreateDate.Format(CreateDateLayout))
	}
}

// ExportSchema names the JSON export's layout.
const ExportSchema = "ccp-preflight/ranges-export/v1"

func (s *Set) writeJSON(w io.Writer, o ExportOptions, rules []Rule) error {
	type jrule struct {
		Direction          string `json:"direction"`
		Protocol           string `json:"protocol"`
		RemoteCIDR         string `json:"remote_cidr"`
		RemotePort         int    `json:"remote_port"`
		LocalPorts         string `json:"local_ports,omitempty"`
		Service            string `json:"service"`
		Region             string `json:"region"`
		NetworkBorderGroup string `json:"network_border_group,omitempty"`
		Comment            string `json:"comment"`
	}
	doc := struct {
		Schema     string  `json:"schema"`
		Region     string  `json:"region"`
		Source     string  `json:"source"`
		CreateDate string  `json:"create_date"`
		SyncToken  string  `json:"sync_token"`
		Rules      []jrule `json:"rules"`
	}{ExportSchema, o.Region, s.Source, s.CreateDate.Format(CreateDateLayout), s.SyncToken, []jrule{}}
	for _, r := range rules {
		jr := jrule{r.Direction, r.Protocol, r.Entry.Prefix.String(), r.RemotePort, "", r.Entry.Service, r.Entry.Region, r.Entry.NetworkBorderGroup, s.comment(r)}
		if r.Direction == "inbound" {
			jr.LocalPorts = r.LocalPorts.String()
		}
		doc.Rules = append(doc.Rules, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
