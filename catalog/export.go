package catalog

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// DomainFormats are the allowlist formats WriteDomains writes (`ranges
// export --format domains|squid`).
var DomainFormats = []string{"domains", "squid"}

// WriteDomains writes ds in format ("domains" or "squid") to w; title is a
// comment line naming what the list is for (region, instance, options).
//
// domains: one entry a line, "NAME PORT/PROTO  # purpose (source)", a
// wildcard as "*.domain".
//
// squid: an ACL snippet to include in squid.conf before its final
// "http_access deny all": the TCP 443 names as a dstdomain ACL (a wildcard
// as ".domain"; a name a wildcard in the list already covers is left as a
// comment, since squid rejects overlapping dstdomain entries), a port ACL,
// and http_access rules allowing CONNECT (and plain requests) to them. The
// UDP entries (TURN media) cannot go through a proxy and are listed as
// comments for the firewall. Comments are on their own lines: squid has no
// trailing comments.
func WriteDomains(w io.Writer, format, title string, ds []Domain) error {
	bw := bufio.NewWriter(w)
	switch format {
	case "domains":
		writeDomainList(bw, title, ds)
	case "squid":
		writeSquid(bw, title, ds)
	default:
		return fmt.Errorf("unknown domain format %q: want %s", format, strings.Join(DomainFormats, " or "))
	}
	return bw.Flush()
}

func writeDomainList(w *bufio.Writer, title string, ds []Domain) {
	fmt.Fprintf(w, "# %s\n", title)
	fmt.Fprintln(w, "# Amazon Connect domain allowlist (admin guide Option 1, recommended): outbound, NAME PORT/PROTOCOL")
	fmt.Fprintln(w, "# \"*.domain\" means every name under domain. Each comment says what the CCP uses it for and where AWS documents it:")
	fmt.Fprintln(w, "# admin guide = docs.aws.amazon.com/connect/latest/adminguide/ (ccp-networking.html: \"Set up your network\").")
	width := 0
	for _, d := range ds {
		width = max(width, len(d.Name))
	}
	for _, d := range ds {
		note := d.Purpose
		if d.Unconfirmed {
			note += "; unconfirmed"
		}
		fmt.Fprintf(w, "%-*s %-8s # %s (%s)\n", width, d.Name, fmt.Sprintf("%d/%s", d.Port, d.Proto), note, d.Source)
	}
}

// squidName is d's name as squid's dstdomain writes it.
func squidName(d Domain) string {
	if d.Wildcard() {
		return d.Name[1:] // "*.x.com" → ".x.com": x.com and every name under it
	}
	return d.Name
}

func writeSquid(w *bufio.Writer, title string, ds []Domain) {
	fmt.Fprintf(w, "# %s\n", title)
	fmt.Fprintln(w, "# Amazon Connect domain allowlist (admin guide Option 1) for squid: include this file")
	fmt.Fprintln(w, "# before squid.conf's final \"http_access deny all\". Check with: squid -k parse")
	fmt.Fprintln(w, "# AWS: \"web socket handling may impact functionality\" through proxies; the CCP's")
	fmt.Fprintln(w, "# signaling is a long-lived WebSocket (CONNECT tunnel) with a heartbeat every 10 s.")
	var udp []Domain
	ports := map[int]bool{}
	for _, d := range ds {
		if d.Proto != TCP {
			udp = append(udp, d)
			continue
		}
		covered := ""
		for _, o := range ds {
			if o.Proto == TCP && Covers(o.Name, d.Name) {
				covered = o.Name
				break
			}
		}
		fmt.Fprintf(w, "# %s (%s)\n", d.Purpose, d.Source)
		if covered != "" {
			fmt.Fprintf(w, "#   %s is covered by %s\n", d.Name, covered)
			continue
		}
		fmt.Fprintf(w, "acl ccp_connect_dst dstdomain %s\n", squidName(d))
		ports[d.Port] = true
	}
	var ps []string
	for p := range ports {
		ps = append(ps, fmt.Sprint(p))
	}
	if len(ps) > 0 {
		fmt.Fprintf(w, "acl ccp_connect_port port %s\n", strings.Join(ps, " "))
		fmt.Fprintln(w, "acl ccp_connect_method method CONNECT")
		fmt.Fprintln(w, "http_access allow ccp_connect_method ccp_connect_dst ccp_connect_port")
		fmt.Fprintln(w, "http_access allow ccp_connect_dst ccp_connect_port")
	}
	if len(udp) > 0 {
		fmt.Fprintln(w, "# Not through the proxy: allow these on the firewall (UDP cannot be proxied):")
		for _, d := range udp {
			fmt.Fprintf(w, "#   %s %d/%s  %s\n", d.Name, d.Port, d.Proto, d.Purpose)
		}
	}
}
