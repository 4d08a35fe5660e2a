//go:build linux

package browserpolicy

// Read returns the managed policies of Chrome, Edge and Chromium on this
// computer (JSONDirs); browsers without any are left out.
func Read() []Browser { return ReadJSONDirs(JSONDirs) }
