package plandiff

import "strings"

// Details is what the Markdown table's Details column says of a change
// (restart or in place, how the rollout goes), for other renderers of the
// same table (the daemon's web view).
func Details(c *Change) string {
	return strings.TrimPrefix(strings.TrimPrefix(note(c), ": "), " ")
}
