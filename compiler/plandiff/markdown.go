package plandiff

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Markdown is for pull-request comments: a summary, a table of the
// changed objects, a table of what happens to each node's pods, and the
// field changes in a collapsed diff block.
type Markdown struct {
	// MaxFields caps the fields shown per change (0: all).
	MaxFields int
}

// Render writes d as GitHub-flavoured Markdown.
func (m Markdown) Render(w io.Writer, d *Diff) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "### berth plan: `%s` → `%s`\n\n**%s**\n", d.Base, d.Revision, d.Summary)
	if d.Empty() {
		fmt.Fprintf(bw, "\nNo changes.\n")
		return bw.Flush()
	}
	for _, g := range bySource(d.Changes) {
		if g.source != "" {
			fmt.Fprintf(bw, "\n#### From %s\n", g.source)
		} else if len(g.changes) < len(d.Changes) {
			fmt.Fprintf(bw, "\n#### From plain manifests\n")
		}
		fmt.Fprintf(bw, "\n| | Object | Details |\n|---|---|---|\n")
		for _, c := range g.changes {
			fmt.Fprintf(bw, "| `%s` | %s | %s |\n", symbol(c.Action), cell(c.Object()), cell(Details(c)))
		}
	}
	if len(d.Nodes) > 0 {
		fmt.Fprintf(bw, "\n| Node | Pods | Workloads |\n|---|---|---|\n")
	}
	for i := range d.Nodes {
		n := &d.Nodes[i]
		fmt.Fprintf(bw, "| %s | %s | %s |\n", cell(n.Node), cell(podCounts(n)), cell(owners(n, 5)))
	}
	if len(d.Holds) > 0 {
		fmt.Fprintf(bw, "\n**Held by disruption budgets:**\n\n")
	}
	for _, h := range d.Holds {
		fmt.Fprintf(bw, "- %s\n", h.Reason)
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
			fmt.Fprintf(bw, "~ %s%s\n", c.Object(), note(c))
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

// group is the changes of one source.
type group struct {
	source  string
	changes []*Change
}

// bySource groups changes by their Source, plain manifests ("") first,
// then sources in order; each group keeps the changes' order.
func bySource(cs []Change) []group {
	idx := map[string]int{}
	var gs []group
	for i := range cs {
		s := cs[i].Source
		j, ok := idx[s]
		if !ok {
			j = len(gs)
			idx[s] = j
			gs = append(gs, group{source: s})
		}
		gs[j].changes = append(gs[j].changes, &cs[i])
	}
	slices.SortStableFunc(gs, func(a, b group) int { return strings.Compare(a.source, b.source) })
	return gs
}

// cell escapes a table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
