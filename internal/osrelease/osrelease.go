// Package osrelease reads the os-release(5) file that names a Linux
// distribution.
package osrelease

import "strings"

// PrettyName returns the PRETTY_NAME of an os-release file's text (quotes
// and backslash escapes removed, control characters dropped), or NAME and
// VERSION when it has none, or "". It never fails: a line it cannot read
// is skipped.
func PrettyName(text string) string {
	vals := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		vals[k] = unquote(v)
	}
	if p := vals["PRETTY_NAME"]; p != "" {
		return p
	}
	return strings.TrimSpace(vals["NAME"] + " " + vals["VERSION"])
}

// unquote removes one level of shell-style quotes and backslash escapes,
// and drops control characters.
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	var b strings.Builder
	esc := false
	for _, r := range v {
		switch {
		case esc:
			esc = false
		case r == '\\':
			esc = true
			continue
		}
		if r < 0x20 || r == 0x7f {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
