//go:build linux

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// quietRun is a quick check that sends only to loopback: the lab's
// servers, without the media and signaling checks' seconds.
var quietRun = []string{"check", "--lab", "--no-progress", "--skip", "media,signaling"}

// TestOutFileKinds: --out and --save-html write to the path the way the
// user meant it (issue #15 item 1): a device stays a device, a symbolic
// link stays a link and its target gets the report, an existing file keeps
// its mode, and a new one is readable by others (0644 &^ umask), never
// 0600. Before the fix every case but the first failed.
func TestOutFileKinds(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the embedded ranges, no cache
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	runTo := func(t *testing.T, flag, path, format string) {
		t.Helper()
		var out, errb strings.Builder
		args := append(append([]string{}, quietRun...), "--format", format, flag, path)
		if code := run(args, &out, &errb); code != exitOK {
			t.Fatalf("%s %s: exit %d: %s", flag, path, code, errb.String())
		}
	}

	t.Run("new file is 0644", func(t *testing.T) {
		p := filepath.Join(dir, "site.prom")
		runTo(t, "--out", p, "prom")
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, want 0644: node_exporter (another user) must read a root cron job's file", fi.Mode().Perm())
		}
	})
	t.Run("existing file keeps its mode", func(t *testing.T) {
		p := filepath.Join(dir, "kept.json")
		os.WriteFile(p, []byte("{}"), 0o640)
		os.Chmod(p, 0o640)
		runTo(t, "--out", p, "json")
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("mode %v, want the file's own 0640", fi.Mode().Perm())
		}
		if b, _ := os.ReadFile(p); !strings.Contains(string(b), `"schema"`) {
			t.Errorf("the file was not rewritten: %q", b)
		}
	})
	t.Run("symlink keeps pointing at its target", func(t *testing.T) {
		target := filepath.Join(dir, "www-report.html")
		os.WriteFile(target, []byte("stale"), 0o644)
		link := filepath.Join(dir, "report.html")
		os.Symlink(target, link)
		runTo(t, "--save-html", link, "text")
		if li, _ := os.Lstat(link); li.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link became %v", li.Mode())
		}
		if b, _ := os.ReadFile(target); !strings.Contains(string(b), "<html") {
			t.Errorf("the link's target is stale: %q", b)
		}
	})
	t.Run("device stays a device", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to make a device node")
		}
		// Its own null device (1,3) in a temp dir: the system's /dev/null is
		// never at risk even if the product is wrong.
		dev := filepath.Join(dir, "null")
		if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Skipf("mknod: %v", err)
		}
		runTo(t, "--out", dev, "json")
		fi, _ := os.Lstat(dev)
		if fi.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("--out on a device replaced it with %v", fi.Mode())
		}
	})
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}
