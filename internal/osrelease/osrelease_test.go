package osrelease

import (
	"os"
	"testing"
)

func TestPrettyName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n", "Debian GNU/Linux 12 (bookworm)"},
		{"NAME=Fedora\nVERSION=\"40 (Workstation Edition)\"\n", "Fedora 40 (Workstation Edition)"},
		{"# comment\nPRETTY_NAME='It\\'s \\\"odd\\\"'\n", "It's \"odd\""},
		{"PRETTY_NAME=\"a\x1b[31mb\"\n", "a[31mb"},
		{"garbage\n=\n", ""},
	} {
		if got := PrettyName(c.in); got != c.want {
			t.Errorf("PrettyName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// This machine's own file, when it has one, names something.
	if b, err := os.ReadFile("/etc/os-release"); err == nil && PrettyName(string(b)) == "" {
		t.Errorf("/etc/os-release gives no name:\n%s", b)
	}
}

func FuzzPrettyName(f *testing.F) {
	f.Add("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
	f.Add("NAME='x\\\nVERSION=\"")
	f.Fuzz(func(t *testing.T, s string) {
		n := PrettyName(s)
		for _, r := range n {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in %q", n)
			}
		}
	})
}
