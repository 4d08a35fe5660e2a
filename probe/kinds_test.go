package probe

import (
	"os"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/result"
)

// TestRegistryDeclared walks the registry: every check is declared to the
// result package with a layer other than Other (so renderers place it), and
// has a row in docs/CHECKS.md's index and in the README's table of checks.
// Adding a check without its docs fails here.
func TestRegistryDeclared(t *testing.T) {
	checks := readDoc(t, "../docs/CHECKS.md")
	readme := readDoc(t, "../README.md")
	seen := map[string]bool{}
	for _, p := range Registry() {
		if seen[p.ID] {
			t.Errorf("%s registered twice", p.ID)
		}
		seen[p.ID] = true
		k, ok := result.KindOf(p.ID)
		if !ok || k.Layer == "" || k.Layer == result.LayerOther {
			t.Errorf("%s: not declared with a layer (got %q)", p.ID, k.Layer)
		}
		if p.Budget == nil || p.Targets == nil || p.Run == nil {
			t.Errorf("%s: Budget, Targets and Run are required", p.ID)
		}
		if !tableRow(checks, p.ID) {
			t.Errorf("%s: no row in docs/CHECKS.md's index", p.ID)
		}
		if !tableRow(readme, p.ID) {
			t.Errorf("%s: no row in the README's table of checks", p.ID)
		}
	}
	for _, k := range result.Kinds() {
		if !seen[k.ID] {
			t.Errorf("%s declared but not in the registry", k.ID)
		}
	}
}

func readDoc(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// tableRow reports whether a Markdown table row names id in backquotes.
func tableRow(lines []string, id string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, "|") && strings.Contains(l, "`"+id+"`") {
			return true
		}
	}
	return false
}
