package preflight

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ccp-preflight/ccp-preflight/config"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// checkSkip rejects a --skip entry that names no check: it must be a
// prefix of the check ids (result.Prefixes: "media", "tls", …) or one
// check's full id ("media.relay"). A typo ("--skip meda") would otherwise
// leave everything in while the user believes a part was left out — or,
// worse, a report would claim to have skipped what it ran.
func checkSkip(skip []string) error {
	prefixes := result.Prefixes()
	for _, p := range skip {
		if slices.Contains(prefixes, strings.TrimSuffix(p, ".")) {
			continue
		}
		if _, ok := result.KindOf(p); ok {
			continue
		}
		return &config.InputError{Msg: fmt.Sprintf("--skip %q: no check has this prefix; want one or more of %s (or a check's full id, e.g. media.relay)",
			p, strings.Join(prefixes, ", "))}
	}
	return nil
}
