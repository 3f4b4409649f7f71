package report

import (
	"encoding/json"
	"io"

	"berth.dev/berth/compiler/diag"
)

// JSONFormatVersion is bumped when the json document changes
// incompatibly, so that scripts can check what they read.
const JSONFormatVersion = 1

// JSON prints one stable document: the format version, the summary and
// every diagnostic in order.
type JSON struct{}

type jsonDoc struct {
	FormatVersion int               `json:"formatVersion"`
	Summary       Summary           `json:"summary"`
	Diagnostics   []diag.Diagnostic `json:"diagnostics"`
}

// Format implements Formatter.
func (JSON) Format(w io.Writer, r Result) error {
	ds := r.Diagnostics
	if ds == nil {
		ds = []diag.Diagnostic{} // [] rather than null: simpler for jq
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonDoc{FormatVersion: JSONFormatVersion, Summary: r.Summary, Diagnostics: ds})
}
