package config

import "strings"

// The browser's DTLS role in the CCP's calls (config key dtls_role). The
// browser offers `a=setup:actpass`; Connect's media server, the answerer,
// chooses: `a=setup:active` in its answer makes the browser the DTLS
// server, `a=setup:passive` makes it the DTLS client (RFC 5763 §5; RFC
// 5763 recommends active). AWS does not document which Connect uses, so
// the default is "not known". It matters for large datagrams: as DTLS
// client Chrome sends a ~1236-byte ClientHello upstream, as DTLS server its
// largest datagram is ~680 bytes (docs/UDP-CHECKS.md).
const (
	DTLSClient = "client"
	DTLSServer = "server"
)

// setDTLSRole reads dtls_role: client, server, or unknown/auto/empty (not
// known).
func (c *Config) setDTLSRole(f *File, _ Overrides) error {
	switch v := strings.ToLower(strings.TrimSpace(f.DTLSRole)); v {
	case "", "unknown", "auto":
		c.DTLSRole = ""
	case DTLSClient, DTLSServer:
		c.DTLSRole = v
	default:
		return inputErr("config dtls_role %q: want client (Connect's answer says a=setup:passive), server (a=setup:active) or unknown", f.DTLSRole)
	}
	return nil
}
