// Package inputfile reads the files a user names (--config, --ice-servers,
// --ranges, ca_files, $CCP_PREFLIGHT_ICE_SERVERS_FILE) safely: regular
// files only, never more than a limit. /dev/zero, a FIFO with no writer or
// a runaway 100 MB file is a one-line error, not an out-of-memory crash or
// a hang.
package inputfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Read returns the contents of the regular file at path, which must hold at
// most limit bytes. The file is opened without blocking (a FIFO would wait
// for a writer forever) and checked to be a regular file before anything
// is read. Every error is an *fs.PathError naming the path: the os
// package's for a missing or unreadable file, else "read PATH: not a
// regular file (…)" or "read PATH: larger than …".
func Read(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("not a regular file (%s)", kind(fi.Mode()))}
	}
	if fi.Size() > limit {
		return nil, tooLarge(path, limit)
	}
	// The size may change while reading (or lie, in /proc): the limit
	// bounds what is read whatever Stat said.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(path, limit)
	}
	return b, nil
}

func tooLarge(path string, limit int64) error {
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %s: not a file this program reads", Size(limit))}
}

// kind names a non-regular file type in words.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "type " + m.Type().String()
}

// Size prints a byte count in KiB or MiB, e.g. "1 MiB".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
