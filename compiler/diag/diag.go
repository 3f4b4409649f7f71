// Package diag defines diagnostics: the findings of lint and plan, as values
// with a source position, a severity and a rule id (STYLE.md, 15).
package diag

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity is error, warning or note.
type Severity int

// Severities, most severe first. A note informs and is never a finding:
// it counts as neither an error nor a warning, and --warnings-as-errors
// leaves it a note (what berth does with a valid object, once per
// repository, such as "these objects have no effect on a node").
const (
	Error Severity = iota
	Warning
	Note
)

// String is "error", "warning" or "note".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Note:
		return "note"
	}
	return "error"
}

// MarshalText renders the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "error" or "warning" (a status document read back).
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	case "note":
		*s = Note
	default:
		return fmt.Errorf("severity %q: want error, warning or note", b)
	}
	return nil
}

// Pos is a position in a source file; Line and Col are 1-based, 0 unknown.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// String is file:line:col.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Diagnostic is one finding.
type Diagnostic struct {
	Pos
	Severity Severity `json:"severity"`
	// Rule is a stable id such as "schema", "unknown-field",
	// "duplicate-object", "selector-mismatch"; SARIF and JUnit use it.
	Rule string `json:"rule"`
	// Object is "Kind namespace/name" when known.
	Object string `json:"object,omitempty"`
	// Path is the field path within the object, e.g.
	// spec.template.spec.containers[0].ports[0].containerPort.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// String is the text format: file:line:col: severity: path: message.
// A finding without a line (in rendered output: a chart's template, a
// field a kustomize transformer set) names its object instead.
func (d Diagnostic) String() string {
	if d.Line == 0 && d.Object != "" {
		if d.Path == "" {
			return fmt.Sprintf("%s: %s: %s: %s", d.Pos, d.Severity, d.Object, d.Message)
		}
		return fmt.Sprintf("%s: %s: %s: %s: %s", d.Pos, d.Severity, d.Object, d.Path, d.Message)
	}
	if d.Path == "" {
		return fmt.Sprintf("%s: %s: %s", d.Pos, d.Severity, d.Message)
	}
	return fmt.Sprintf("%s: %s: %s: %s", d.Pos, d.Severity, d.Path, d.Message)
}

// Error lets a diagnostic travel as an error.
func (d Diagnostic) Error() string { return d.String() }

// Sort orders diagnostics by file, line, column, then message, so output
// is stable whatever the worker count.
func Sort(ds []Diagnostic) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Count returns the number of errors and warnings (notes are neither).
func Count(ds []Diagnostic) (errors, warnings int) {
	for _, d := range ds {
		switch d.Severity {
		case Error:
			errors++
		case Warning:
			warnings++
		}
	}
	return errors, warnings
}

// List is a set of diagnostics that is also an error, for callers that
// must refuse input with errors in it.
type List []Diagnostic

// Error joins the diagnostics, one a line.
func (l List) Error() string {
	s := ""
	for i, d := range l {
		if i > 0 {
			s += "\n"
		}
		s += d.String()
	}
	return s
}
