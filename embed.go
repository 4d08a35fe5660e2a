// Package ccppreflight holds the files embedded into the binary.
package ccppreflight

import _ "embed"

// IPRanges is AWS's published ip-ranges.json, byte-exact, as shipped at the
// repository root: the default data when no newer cache or --ranges exists.
//
//go:embed ip-ranges.json
var IPRanges []byte
