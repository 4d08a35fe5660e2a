//go:build linux || darwin

package safefile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func text(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTemps fails when a temp file was left in dir.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

// A new file is created readable by others (0644 &^ umask), not 0600: a
// root cron job's metrics file must be readable by node_exporter.
func TestNewFileModeFollowsUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "site.prom")
	if err := Write(p, text("a 1\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o644 {
		t.Errorf("new file mode %v, want 0644 (0644 &^ umask 022)", got)
	}
	syscall.Umask(0o077)
	p2 := filepath.Join(dir, "private.html")
	if err := Write(p2, text("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p2); fi.Mode().Perm() != 0o600 {
		t.Errorf("with umask 077 the mode is %v, want 0600", fi.Mode().Perm())
	}
	noTemps(t, dir)
}

// Replacing an existing file keeps its mode.
func TestReplaceKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.html")
	if err := os.WriteFile(p, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, text("new")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "new" {
		t.Errorf("content %q, want new", got)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v after replace, want the old file's 0640", fi.Mode().Perm())
	}
	noTemps(t, dir)
}

// A failed write keeps the old file whole and leaves no temp file.
func TestFailedWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	os.WriteFile(p, []byte("old report"), 0o644)
	boom := errors.New("render failed")
	err := Write(p, func(w io.Writer) error { io.WriteString(w, "half"); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the render error", err)
	}
	if got := read(t, p); got != "old report" {
		t.Errorf("content %q after a failed write, want the old report", got)
	}
	noTemps(t, dir)
}

// A symbolic link stays a link and its target gets the content (not the
// link replaced by a file, with the target left stale).
func TestSymlinkTargetWritten(t *testing.T) {
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	os.Mkdir(www, 0o755)
	target := filepath.Join(www, "report.html")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "latest.html")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, text("new")); err != nil {
		t.Fatal(err)
	}
	li, err := os.Lstat(link)
	if err != nil || li.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link was replaced (mode %v, err %v)", li.Mode(), err)
	}
	if got := read(t, target); got != "new" {
		t.Errorf("link target holds %q, want new", got)
	}
	noTemps(t, dir)
	noTemps(t, www)

	// A link to nothing: its target is created, as a shell redirect does.
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(www, "new.txt"), dangling)
	if err := Write(dangling, text("x")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(www, "new.txt")); got != "x" {
		t.Errorf("dangling link's target holds %q", got)
	}
	if li, _ := os.Lstat(dangling); li.Mode()&fs.ModeSymlink == 0 {
		t.Error("the dangling link was replaced by a file")
	}
}

// A device is written through, never replaced by a regular file: the
// natural cron idiom --out /dev/null must not destroy /dev/null. The test
// makes its own character device (the null device's numbers) in a temp
// directory, so the system's /dev/null is never at risk.
func TestDeviceWrittenThrough(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a device node")
	}
	dir := t.TempDir()
	dev := filepath.Join(dir, "null")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("mknod: %v", err)
	}
	if err := Write(dev, text("report")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(dev)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("the device became %v: replaced by a file", fi.Mode())
	}
	noTemps(t, dir)
}

// A FIFO is written through: the reader at its other end gets the report.
func TestFIFOWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	if err := Write(fifo, text("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO became %v", fi.Mode())
	}
}

func TestDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, text("x")); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("err %v, want 'is a directory'", err)
	}
}

// Replace gives the file exactly the mode asked for, whatever the umask
// (the ranges cache and the lab's state files must stay readable), puts
// the new content in place of the old and leaves no temp file.
func TestReplace(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "cache.json")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Replace(p, []byte("new"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "new" {
		t.Errorf("content %q, want new", got)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	noTemps(t, dir)
	if err := Replace(filepath.Join(dir, "missing", "x"), []byte("x"), 0o644, true); err == nil {
		t.Error("Replace into a missing directory succeeded")
	}
}
