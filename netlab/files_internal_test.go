//go:build linux

package netlab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/internal/safefile"
)

// TestControlFileNeverHalfWritten: labd reads labd.json when signalled,
// at any moment, also while the next state is being written. Written with
// os.WriteFile (truncate, then write), a reader could see an empty or
// partial file — what made TestLabFaults/dns-down fail on a loaded machine
// ("unexpected end of JSON input": the fault was never applied). Written
// with safefile.Replace, every read is one whole state.
func TestControlFileNeverHalfWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileLabdState)
	state := func(i int) []byte {
		s := LabdState{Zone: map[string]string{}, Gen: int64(i)}
		for j := 0; j < 400; j++ { // ~16 KB: more than one write(2) of a pipe-sized buffer
			s.Zone[strings.Repeat("x", 20)+string(rune('a'+j%26))+string(rune('a'+j/26))] = "203.0.113.10"
		}
		b, _ := json.Marshal(s)
		return b
	}
	if err := safefile.Replace(path, state(0), 0o644, false); err != nil {
		t.Fatal(err)
	}
	var (
		stop          atomic.Bool
		reads, broken atomic.Int64
		wg            sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			b, err := os.ReadFile(path)
			if err != nil {
				broken.Add(1)
				continue
			}
			var s LabdState
			if json.Unmarshal(b, &s) != nil || len(s.Zone) != 400 {
				broken.Add(1)
			}
			reads.Add(1)
		}
	}()
	for i := 1; i <= 500; i++ {
		if err := safefile.Replace(path, state(i), 0o644, false); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d reads during 500 rewrites", reads.Load())
	if n := broken.Load(); n > 0 {
		t.Errorf("%d of %d reads saw a missing or partial control file", n, reads.Load())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}
