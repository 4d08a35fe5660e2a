package preflight

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// osVersion is "Windows 10.0.22631" (RtlGetVersion: the real version,
// not the compatibility one GetVersionEx reports).
func osVersion() string {
	v := windows.RtlGetVersion()
	if v == nil || v.MajorVersion == 0 {
		return osName()
	}
	return fmt.Sprintf("Windows %d.%d.%d (%s)", v.MajorVersion, v.MinorVersion, v.BuildNumber, osName())
}
