package plandiff

import (
	"encoding/json"
	"fmt"
	"io"
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

// note is what a change adds after its object: restart, rollout.
func note(c *Change) string {
	s := ""
	if c.Kind == "Pod" && c.Action == Update {
		if c.Restart {
			s = " (restarts the pod)"
		} else {
			s = " (in place, no restart)"
		}
	}
	if c.Rollout != "" {
		s += ": " + c.Rollout
	}
	return s
}

// sections groups changes: cluster-wide first, then one per node.
func sections(d *Diff) (names []string, by map[string][]*Change) {
	by = map[string][]*Change{}
	for i := range d.Changes {
		c := &d.Changes[i]
		if _, ok := by[c.Node]; !ok {
			names = append(names, c.Node)
		}
		by[c.Node] = append(by[c.Node], c)
	}
	return names, by
}
