package plandiff

import (
	"bufio"
	"fmt"
	"io"
)

// Text is the terminal format: one line per change, indented fields.
type Text struct {
	// MaxFields caps the fields shown per change (0: all).
	MaxFields int
}

// Render writes d as text.
func (t Text) Render(w io.Writer, d *Diff) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Comparing %s with %s.\n", d.Base, d.Revision)
	if d.Summary.Empty() {
		fmt.Fprintf(bw, "\nNo changes. The plan matches the base.\n\n%s\n", d.Summary)
		return bw.Flush()
	}
	names, by := sections(d)
	for _, node := range names {
		if node == "" {
			fmt.Fprintf(bw, "\nCluster:\n")
		} else {
			fmt.Fprintf(bw, "\nNode %s:\n", node)
		}
		for _, c := range by[node] {
			fmt.Fprintf(bw, "  %s %s%s\n", symbol(c.Action), c.Object(), note(c))
			for i, f := range c.Fields {
				if t.MaxFields > 0 && i == t.MaxFields {
					fmt.Fprintf(bw, "      ... and %d more fields\n", len(c.Fields)-i)
					break
				}
				fmt.Fprintf(bw, "      %s: %s -> %s\n", f.Path, value(f.Old), value(f.New))
			}
		}
	}
	fmt.Fprintf(bw, "\n%s\n", d.Summary)
	return bw.Flush()
}
