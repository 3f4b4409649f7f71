package plandiff

import (
	"bufio"
	"fmt"
	"io"
)

// Text is the terminal format: one line per changed object with its
// indented fields, then one line per node for its pods.
type Text struct {
	// MaxFields caps the fields shown per change (0: all).
	MaxFields int
}

// Render writes d as text.
func (t Text) Render(w io.Writer, d *Diff) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Comparing %s with %s.\n", d.Base, d.Revision)
	if d.Empty() {
		fmt.Fprintf(bw, "\nNo changes. The plan matches the base.\n\n%s\n", d.Summary)
		return bw.Flush()
	}
	if len(d.Changes) > 0 {
		fmt.Fprintf(bw, "\nObjects:\n")
	}
	for i := range d.Changes {
		c := &d.Changes[i]
		fmt.Fprintf(bw, "  %s %s%s\n", symbol(c.Action), c.Object(), note(c))
		for j, f := range c.Fields {
			if t.MaxFields > 0 && j == t.MaxFields {
				fmt.Fprintf(bw, "      ... and %d more fields\n", len(c.Fields)-j)
				break
			}
			fmt.Fprintf(bw, "      %s: %s -> %s\n", f.Path, value(f.Old), value(f.New))
		}
	}
	if len(d.Nodes) > 0 {
		fmt.Fprintf(bw, "\nPods, by node (they follow from the objects):\n")
	}
	for i := range d.Nodes {
		n := &d.Nodes[i]
		fmt.Fprintf(bw, "  %s: %s (%s)\n", n.Node, podCounts(n), owners(n, 3))
	}
	if len(d.Holds) > 0 {
		fmt.Fprintf(bw, "\nHeld by disruption budgets:\n")
	}
	for _, h := range d.Holds {
		fmt.Fprintf(bw, "  %s\n", h.Reason)
	}
	fmt.Fprintf(bw, "\n%s\n", d.Summary)
	return bw.Flush()
}
