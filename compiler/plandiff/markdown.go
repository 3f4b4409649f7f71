package plandiff

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Markdown is for pull-request comments: a summary, a table of changes,
// and the field changes in a collapsed diff block.
type Markdown struct {
	// MaxFields caps the fields shown per change (0: all).
	MaxFields int
}

// Render writes d as GitHub-flavoured Markdown.
func (m Markdown) Render(w io.Writer, d *Diff) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "### berth plan: `%s` → `%s`\n\n**%s**\n", d.Base, d.Revision, d.Summary)
	if d.Summary.Empty() {
		fmt.Fprintf(bw, "\nNo changes.\n")
		return bw.Flush()
	}
	fmt.Fprintf(bw, "\n| | Object | Node | Details |\n|---|---|---|---|\n")
	for i := range d.Changes {
		c := &d.Changes[i]
		details := strings.TrimPrefix(strings.TrimPrefix(note(c), ": "), " ")
		fmt.Fprintf(bw, "| `%s` | %s | %s | %s |\n", symbol(c.Action), cell(c.Object()), cell(c.Node), cell(details))
	}
	var withFields []*Change
	for i := range d.Changes {
		if len(d.Changes[i].Fields) > 0 {
			withFields = append(withFields, &d.Changes[i])
		}
	}
	if len(withFields) > 0 {
		fmt.Fprintf(bw, "\n<details><summary>Field changes</summary>\n\n```diff\n")
		for _, c := range withFields {
			where := ""
			if c.Node != "" {
				where = " on " + c.Node
			}
			fmt.Fprintf(bw, "~ %s%s%s\n", c.Object(), where, note(c))
			for i, f := range c.Fields {
				if m.MaxFields > 0 && i == m.MaxFields {
					fmt.Fprintf(bw, "  ... and %d more fields\n", len(c.Fields)-i)
					break
				}
				if f.Old != "" {
					fmt.Fprintf(bw, "-   %s: %s\n", f.Path, f.Old)
				}
				if f.New != "" {
					fmt.Fprintf(bw, "+   %s: %s\n", f.Path, f.New)
				}
			}
		}
		fmt.Fprintf(bw, "```\n\n</details>\n")
	}
	return bw.Flush()
}

// cell escapes a table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
