package report

import (
	"encoding/json"
	"io"
)

// JSON writes the ccp-preflight/report/v1 document, indented.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
