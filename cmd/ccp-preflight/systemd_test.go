package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/ranges"
)

// TestSystemdUnits: the documented units give serve a writable cache
// directory that is the one ranges update writes and serve watches
// (CacheDirectory= and XDG_CACHE_HOME=%C, so os.UserCacheDir() is
// /var/cache), reload on SIGHUP, and pass systemd-analyze verify where
// systemd is installed.
func TestSystemdUnits(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd units are for Linux")
	}
	units, _ := filepath.Glob("../../contrib/systemd/*")
	if len(units) != 3 {
		t.Fatalf("want the service, the update service and its timer; got %v", units)
	}
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.HasSuffix(u, ".service") {
			for _, want := range []string{"CacheDirectory=ccp-preflight\n", "Environment=XDG_CACHE_HOME=%C\n", "User=ccp-preflight\n", "DynamicUser=yes\n"} {
				if !strings.Contains(s, want) {
					t.Errorf("%s lacks %q", u, want)
				}
			}
		}
		if strings.HasSuffix(u, "ccp-preflight.service") && !strings.Contains(s, "ExecReload=/bin/kill -HUP $MAINPID") {
			t.Errorf("%s: no ExecReload sending SIGHUP", u)
		}
	}
	t.Setenv("XDG_CACHE_HOME", "/var/cache")
	if d, err := ranges.CacheDir(); err != nil || d != "/var/cache/ccp-preflight" {
		t.Errorf("with XDG_CACHE_HOME=/var/cache the cache is %q (%v), not the unit's CacheDirectory", d, err)
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	var paths []string
	for _, u := range units {
		b, _ := os.ReadFile(u)
		p := filepath.Join(dir, filepath.Base(u))
		// The binary is not installed here: verify the rest.
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/ccp-preflight", "/bin/true")), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if out, err := exec.Command(sa, append([]string{"verify"}, paths...)...).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
