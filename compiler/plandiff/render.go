package plandiff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Renderer prints a diff in one format.
type Renderer interface {
	Render(w io.Writer, d *Diff) error
}

// Formats lists the output formats, for flag help.
var Formats = []string{"text", "json", "markdown"}

// RendererFor returns the renderer of format.
func RendererFor(format string) (Renderer, error) {
	switch format {
	case "", "text":
		return Text{MaxFields: 20}, nil
	case "json":
		return JSON{}, nil
	case "markdown", "md":
		return Markdown{MaxFields: 20}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want text, json or markdown)", format)
}

// JSON prints the diff as one indented document.
type JSON struct{}

// Render writes d as JSON.
func (JSON) Render(w io.Writer, d *Diff) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// value renders a field value for people: absent is "(none)".
func value(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// symbol is terraform's marker for an action.
func symbol(action string) string {
	switch action {
	case Create:
		return "+"
	case Delete:
		return "-"
	}
	return "~"
}

// note is what a change adds after its object: the rollout.
func note(c *Change) string {
	if c.Rollout != "" {
		return ": " + c.Rollout
	}
	return ""
}

// podCounts says what happens to a node's pods, e.g. "3 created, 3
// deleted, 1 updated in place".
func podCounts(n *NodePods) string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{n.Create, "created"}, {n.Replace, "replaced"}, {n.Update, "updated in place"}, {n.Delete, "deleted"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return count(n.Create+n.Replace+n.Update+n.Delete, "pod") + ": " + strings.Join(parts, ", ")
}

// owners lists at most max of a node's workloads.
func owners(n *NodePods, max int) string {
	if len(n.Workloads) <= max {
		return strings.Join(n.Workloads, ", ")
	}
	return strings.Join(n.Workloads[:max], ", ") + fmt.Sprintf(" and %d more", len(n.Workloads)-max)
}
