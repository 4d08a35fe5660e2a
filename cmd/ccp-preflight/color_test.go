package main

import (
	"errors"
	"testing"
)

// TestColorAfterVT: the Windows console gets colour only once virtual-
// terminal processing is on (already, or enabled now); a console whose mode
// cannot be read or set gets none.
func TestColorAfterVT(t *testing.T) {
	if m, changed := vtMode(0x0003); m != 0x0007 || !changed {
		t.Errorf("vtMode(3) = %#x %v, want 0x7 true", m, changed)
	}
	if m, changed := vtMode(0x0007); m != 0x0007 || changed {
		t.Errorf("vtMode(7) = %#x %v, want unchanged", m, changed)
	}
	fail := errors.New("the handle is invalid")
	for _, c := range []struct {
		getErr  error
		changed bool
		setErr  error
		want    bool
	}{
		{nil, false, nil, true},  // VT already on
		{nil, true, nil, true},   // turned on now
		{nil, true, fail, false}, // old console: cannot turn it on
		{fail, false, nil, false},
	} {
		if got := colorAfterVT(c.getErr, c.changed, c.setErr); got != c.want {
			t.Errorf("colorAfterVT(%v, %v, %v) = %v, want %v", c.getErr, c.changed, c.setErr, got, c.want)
		}
	}
}
