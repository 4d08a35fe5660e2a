package inputfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.yaml")
	os.WriteFile(ok, []byte("region: us-east-1\n"), 0o600)
	if b, err := Read(ok, 1<<20); err != nil || string(b) != "region: us-east-1\n" {
		t.Fatalf("Read = %q, %v", b, err)
	}
	// Exactly at the limit is fine; one byte over is not.
	at := filepath.Join(dir, "at")
	os.WriteFile(at, make([]byte, 1024), 0o600)
	if _, err := Read(at, 1024); err != nil {
		t.Errorf("a file of exactly the limit: %v", err)
	}
	if _, err := Read(at, 1023); err == nil || !strings.Contains(err.Error(), "larger than 1023 bytes") {
		t.Errorf("a file over the limit: %v", err)
	}
	var pe *fs.PathError
	if _, err := Read(dir, 1024); !errors.As(err, &pe) || !strings.Contains(err.Error(), "not a regular file (a directory)") || pe.Path != dir {
		t.Errorf("a directory: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 1024); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want ErrNotExist", err)
	}
	if runtime.GOOS == "linux" {
		// A device that never ends, and a FIFO nobody writes to: refused at
		// once (before: out of memory, and a hang).
		if _, err := Read("/dev/zero", 1<<20); err == nil || !strings.Contains(err.Error(), "a character device") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{1 << 20: "1 MiB", 64 << 20: "64 MiB", 4096: "4 KiB", 1000: "1000 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
