package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	// The fixtures use the real check ids; importing probe (in tests only,
	// so the report package itself never links it) declares their kinds.
	_ "github.com/ccp-preflight/ccp-preflight/probe"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// TestNoCheckIDs keeps report/ free of check ids and id prefixes: whatever
// a renderer needs to know of a check is declared with it (result.Kind).
func TestNoCheckIDs(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	kinds := result.Kinds()
	if len(kinds) == 0 {
		t.Fatal("no checks declared")
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, k := range kinds {
			prefix, _, _ := strings.Cut(k.ID, ".")
			for _, s := range []string{`"` + k.ID + `"`, `"` + prefix + `."`} {
				if strings.Contains(src, s) {
					t.Errorf("%s names the check id %s: declare what it needs in the check's result.Kind", f, s)
				}
			}
		}
	}
}
