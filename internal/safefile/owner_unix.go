//go:build unix

package safefile

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives name the owner and group of old, where allowed (root;
// or the group, for its members). Failing is not an error: the content
// and mode matter more than the owner.
func keepOwner(name string, old fs.FileInfo) {
	if st, ok := old.Sys().(*syscall.Stat_t); ok {
		_ = os.Chown(name, int(st.Uid), int(st.Gid))
	}
}
