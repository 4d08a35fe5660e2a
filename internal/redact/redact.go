// Package redact keeps credentials written into URLs (a proxy's
// user:password@, a ranges URL's) out of every message: errors quote
// configuration values, and a value may carry a password.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mark replaces what was removed.
const Mark = "[redacted]"

// URL returns the value s with the userinfo of its authority (everything
// before the last '@' of "scheme://user:pass@host/…", or of "scheme:
// user:pass@host" and "user:pass@host") replaced by Mark. It works on
// text that does not parse as a URL too, which is exactly when an error
// quotes it. Values without '@' in their authority are returned as they
// are.
func URL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		return s[:i+3] + userinfo(s[i+3:], true)
	}
	if i := strings.IndexByte(s, ':'); i >= 0 && isScheme(s[:i]) && strings.Contains(s[i+1:], "@") {
		return s[:i+1] + userinfo(s[i+1:], false)
	}
	return userinfo(s, false)
}

// Proxy is URL for a proxy setting, which may be written without a scheme
// ("user:pass@host:3128" means http://user:pass@host:3128): everything
// before the last '@' of the authority is replaced by Mark, the user name
// too ("[redacted]@host:3128"), whether s parses or not.
func Proxy(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		return s[:i+3] + userinfo(s[i+3:], true)
	}
	return userinfo(s, true)
}

// Parsed prints the parsed URL u without its user information (user name
// and password dropped, not marked); "" for nil.
func Parsed(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	return c.String()
}

// userinfo replaces everything before the last '@' of rest (what follows
// a URL's scheme) by Mark. With authority, rest starts with an authority,
// which ends at the path, query or fragment: the userinfo may hold '/'
// only escaped, so the first one ends it.
func userinfo(rest string, authority bool) string {
	end := len(rest)
	if authority {
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			end = j
		}
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return rest
	}
	return Mark + rest[at:]
}

// isScheme reports whether s looks like a URL scheme (turn, turns, http…).
func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// inText matches the userinfo of URLs inside free text.
var inText = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s"'` + "`" + `]*@`)

// Text returns msg with the userinfo of every "scheme://user:pass@" in it
// replaced by Mark: the last guard for messages that quote configuration.
func Text(msg string) string {
	if !strings.Contains(msg, "@") {
		return msg
	}
	return inText.ReplaceAllString(msg, "${1}"+Mark+"@")
}
