package probe

import (
	"fmt"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/catalog"
	"github.com/ccp-preflight/ccp-preflight/config"
)

// Remedy texts: the exact rule to add, per admin guide Option 1 (domains,
// recommended) and Option 2 (ip-ranges.json). One place, so every probe
// names the same rule for the same target.

// RemedyTURN is the rule for UDP 3478 to a TURN server: its name, and the
// AMAZON_CONNECT ranges (GLOBAL and the region) from the data in use.
func RemedyTURN(cfg *config.Config, e catalog.Endpoint) string {
	s := fmt.Sprintf("allow outbound UDP %d to %s (domain allowlist)", e.Port, e.Host)
	if p := connectPrefixes(cfg); p != "" {
		s += " or to " + p + " (AMAZON_CONNECT ranges)"
	}
	return s + ", and the replies back to this computer's ephemeral UDP ports on a stateless firewall"
}

// RemedyHTTPS is the rule for TCP 443 to a web or signaling endpoint.
func RemedyHTTPS(cfg *config.Config, e catalog.Endpoint) string {
	s := fmt.Sprintf("allow outbound TCP %d to %s", e.Port, e.Host)
	switch {
	case strings.HasSuffix(e.Host, ".cloudfront.net"):
		s += " (or *.cloudfront.net; Option 2: the CLOUDFRONT ranges)"
	case e.Service == catalog.EC2 && cfg != nil && cfg.Region != "":
		s += fmt.Sprintf(" (Option 2: the EC2 ranges of %s and GLOBAL — `ccp-preflight ranges export --region %s`)", cfg.Region, cfg.Region)
	}
	return s
}

// connectPrefixes lists the AMAZON_CONNECT IPv4 prefixes for GLOBAL and the
// run's region, e.g. "15.193.0.0/19, 15.193.6.0/24 and 52.55.191.224/27".
func connectPrefixes(cfg *config.Config) string {
	if cfg == nil || cfg.Ranges == nil {
		return ""
	}
	var ps []string
	for _, region := range []string{"GLOBAL", cfg.Region} {
		for _, p := range cfg.Ranges.Filter(string(catalog.AmazonConnect), region, false) {
			ps = append(ps, p.Prefix.String())
		}
	}
	switch len(ps) {
	case 0:
		return ""
	case 1:
		return ps[0]
	}
	return strings.Join(ps[:len(ps)-1], ", ") + " and " + ps[len(ps)-1]
}

// remedyNotTURN is the remedy when the port answers, but not as TURN.
func remedyNotTURN(e catalog.Endpoint) string {
	return fmt.Sprintf("check that %s resolves to a Connect TURN server (ranges.membership) and that no UDP proxy, SIP ALG or inspection rule answers for or rewrites UDP %d", e.Host, e.Port)
}
