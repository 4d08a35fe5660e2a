//go:build darwin

package browserpolicy

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"time"
)

// PlistDomains are the managed preference domains per browser.
var PlistDomains = []struct{ Browser, Domain string }{
	{"Google Chrome", "com.google.Chrome"},
	{"Microsoft Edge", "com.microsoft.Edge"},
	{"Chromium", "org.chromium.Chromium"},
}

// Read returns the managed preferences (MDM profiles) of Chrome, Edge and
// Chromium: the user's (/Library/Managed Preferences/USER/DOMAIN.plist)
// and the computer's (/Library/Managed Preferences/DOMAIN.plist), read as
// JSON through plutil. Browsers without any are left out.
func Read() []Browser {
	dirs := []string{}
	if u, err := user.Current(); err == nil {
		dirs = append(dirs, filepath.Join("/Library/Managed Preferences", u.Username))
	}
	dirs = append(dirs, "/Library/Managed Preferences")
	var out []Browser
	for _, d := range PlistDomains {
		b := Browser{Name: d.Browser}
		for _, dir := range dirs {
			f := filepath.Join(dir, d.Domain+".plist")
			if _, err := os.Stat(f); err != nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			raw, err := exec.CommandContext(ctx, "/usr/bin/plutil", "-convert", "json", "-o", "-", f).Output()
			cancel()
			if err != nil {
				b.Problems = append(b.Problems, f+" cannot be read: "+err.Error())
				continue
			}
			m, err := ParseJSON(raw)
			if err != nil {
				b.Problems = append(b.Problems, f+" is not a policy list: "+err.Error())
				continue
			}
			for _, n := range Names {
				if v, ok := m[n]; ok {
					b.add(n, v, f)
				}
			}
		}
		if b.Set() {
			out = append(out, b)
		}
	}
	return out
}
