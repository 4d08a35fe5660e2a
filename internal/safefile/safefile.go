// Package safefile writes output files (check --out, --save-html) the way
// the user meant the path: a regular file is replaced atomically, a device
// or pipe is written through, a symbolic link keeps pointing where it
// pointed while its target gets the new content.
package safefile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// NewFileMode is the permission of a file Write creates, before the
// process's umask: readable by others (a root cron job's .prom file must be
// readable by node_exporter), like a shell redirect's 0666 &^ umask but
// not writable by others.
const NewFileMode fs.FileMode = 0o644

// Write writes what write produces to path, by what path is:
//
//   - nothing there: a new file of NewFileMode &^ umask, created through a
//     temp file and a rename, so a failed write leaves nothing behind;
//   - a regular file (or a symbolic link to one): a temp file next to the
//     real file, renamed over it, so readers see the old or the new content
//     and a failed write keeps the old file; the file keeps its permission
//     bits (and, where the system allows, its owner); a link stays a link;
//   - a device, pipe or socket (/dev/null, a FIFO), or a path in /dev or
//     /proc: written through, never replaced; /dev/stdout and /dev/stderr
//     (also as /dev/fd/1, /dev/fd/2) are the process's own streams;
//   - a directory: an error.
//
// A symbolic link to nothing is followed like a shell redirect: its target
// is created. The error names no path (the caller names the flag) unless
// it comes from the file system.
func Write(path string, write func(io.Writer) error) error {
	if path == "" {
		return errors.New("no file name")
	}
	if f := stdStream(path); f != nil {
		return write(f) // the open stream itself: a redirect's >> is kept
	}
	fi, err := os.Stat(path) // follows links
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			return through(path, os.O_CREATE|os.O_TRUNC, write) // a dangling link: create its target
		}
		return replace(path, nil, write)
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%s is a directory", path)
	case !fi.Mode().IsRegular():
		return through(path, 0, write)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil || special(path) || special(real) {
		// /dev/stdout → /proc/self/fd/1 → a file the shell opened: write
		// into that open file, as the user's redirect means (>> included).
		return through(path, os.O_TRUNC, write)
	}
	return replace(real, fi, write)
}

// special reports whether p lies in /dev or /proc, whose links name open
// files (/dev/stdout, /dev/fd/N, /proc/self/fd/N) rather than paths to
// replace.
func special(p string) bool {
	p = filepath.ToSlash(filepath.Clean(p))
	for _, d := range []string{"/dev", "/proc"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// stdStream returns os.Stdout or os.Stderr for the names Unix gives them
// (/dev/stdout, /dev/fd/1, /proc/self/fd/1, …), else nil.
func stdStream(path string) *os.File {
	if runtime.GOOS == "windows" {
		return nil
	}
	switch filepath.Clean(path) {
	case "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return os.Stdout
	case "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2":
		return os.Stderr
	}
	return nil
}

// through opens path for writing (never creating it unless flag says so)
// and writes into it.
func through(path string, flag int, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|flag, NewFileMode)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replace writes a temp file in path's directory and renames it over
// path; old is the file replaced (nil: none), whose mode and owner the new
// file takes.
func replace(path string, old fs.FileInfo, write func(io.Writer) error) error {
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // after a successful rename: nothing there
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if old != nil {
		keepOwner(name, old)
		if err := os.Chmod(name, old.Mode().Perm()); err != nil {
			return err
		}
	}
	return os.Rename(name, path)
}

// Replace writes b to path, a file the program itself owns (a cache, a
// lab's state), through a temp file next to it and a rename: readers see
// the old content or the new, never a part, and a failed write keeps the
// old file. The file gets mode exactly (no umask); a symbolic link at path
// is replaced, not followed. Unlike Write, it is not for paths a user
// names. The temp file is ".NAME.tmp-…" (a crash may leave one behind).
//
// Durable syncs the data before the rename, so that after a crash the
// file holds the old or the new content (a cache that outlives the
// process); without it (state that means nothing after a reboot) no disk
// flush is paid, which on a busy disk costs ~15 ms a write.
func Replace(path string, b []byte, mode fs.FileMode, durable bool) error {
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: nothing there
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// createTemp creates ".NAME.tmp-RANDOM" next to path with NewFileMode, so
// the umask applies (os.CreateTemp would make it 0600).
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 10 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		f, err := os.OpenFile(filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(b[:])), os.O_WRONLY|os.O_CREATE|os.O_EXCL, NewFileMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("could not create a temporary file next to %s", path)
}
