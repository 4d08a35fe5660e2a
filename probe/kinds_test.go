package probe

import (
	"os"
	"slices"
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

// TestFindingsDeclarations: what each check declares for findings
// (result.Kind) is sound: DependsOn names registered checks that come
// before it in report order (so a dependency is judged first), every
// cause has a title, and its placeholders are ones report.FindingsOf fills.
func TestFindingsDeclarations(t *testing.T) {
	order := map[string]int{}
	for i, p := range Registry() {
		order[p.ID] = i
	}
	known := []string{"{n}", "{targets}", "{target}", "{address}", "{region}", "{remedy}"}
	for _, p := range Registry() {
		for _, d := range p.DependsOn {
			i, ok := order[d]
			if !ok || i >= order[p.ID] || d == p.ID {
				t.Errorf("%s depends on %q: not a check registered before it", p.ID, d)
			}
		}
		for _, c := range p.Causes {
			if c.Title == "" {
				t.Errorf("%s: a cause without a title", p.ID)
			}
			for _, s := range []string{c.Title, c.TitleOne, c.Remedy} {
				rest := s
				for {
					i := strings.Index(rest, "{")
					if i < 0 {
						break
					}
					j := strings.Index(rest[i:], "}")
					if j < 0 {
						t.Errorf("%s: unclosed placeholder in %q", p.ID, s)
						break
					}
					ph := rest[i : i+j+1]
					if !strings.HasPrefix(ph, "{detail:") && !slices.Contains(known, ph) {
						t.Errorf("%s: unknown placeholder %s in %q", p.ID, ph, s)
					}
					rest = rest[i+j+1:]
				}
			}
		}
	}
}
