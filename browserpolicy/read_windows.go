//go:build windows

package browserpolicy

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/windows/registry"
)

// RegistryKeys are the policy keys per browser, under HKLM and HKCU.
var RegistryKeys = []struct{ Browser, Key string }{
	{"Google Chrome", `Software\Policies\Google\Chrome`},
	{"Microsoft Edge", `Software\Policies\Microsoft\Edge`},
	{"Chromium", `Software\Policies\Chromium`},
}

// Read returns the policies of Chrome, Edge and Chromium from the
// registry: the machine's (HKLM) first, as they take precedence over the
// user's (HKCU). Browsers without any are left out.
func Read() []Browser {
	var out []Browser
	for _, k := range RegistryKeys {
		b := Browser{Name: k.Browser}
		for _, root := range []struct {
			key  registry.Key
			name string
		}{{registry.LOCAL_MACHINE, "HKLM"}, {registry.CURRENT_USER, "HKCU"}} {
			readKey(&b, root.key, root.name+`\`+k.Key, k.Key)
		}
		if b.Set() {
			out = append(out, b)
		}
	}
	return out
}

func readKey(b *Browser, root registry.Key, name, path string) {
	key, err := registry.OpenKey(root, path, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		if !errors.Is(err, registry.ErrNotExist) {
			b.Problems = append(b.Problems, fmt.Sprintf("%s cannot be read: %v", name, err))
		}
		return
	}
	defer key.Close()
	for _, n := range Names {
		if n == WebRtcLocalIpsAllowedUrls {
			continue // a list: a sub-key of numbered values
		}
		if s, _, err := key.GetStringValue(n); err == nil {
			b.add(n, s, name)
		} else if v, _, err := key.GetIntegerValue(n); err == nil {
			b.add(n, fmt.Sprint(v), name)
		}
	}
	// Lists are a sub-key whose values "1", "2", … are the items.
	sub, err := registry.OpenKey(key, WebRtcLocalIpsAllowedUrls, registry.QUERY_VALUE)
	if err != nil {
		return
	}
	defer sub.Close()
	names, _ := sub.ReadValueNames(0)
	sort.Strings(names)
	var items []any
	for _, vn := range names {
		if s, _, err := sub.GetStringValue(vn); err == nil {
			items = append(items, s)
		}
	}
	if len(items) > 0 {
		b.add(WebRtcLocalIpsAllowedUrls, items, name+`\`+WebRtcLocalIpsAllowedUrls)
	}
}
