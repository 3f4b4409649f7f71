// Package report renders lint results in the formats CI systems read:
// text, json, github, sarif and junit. Each format lives in its own file
// behind one interface; the linter knows nothing about printing.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"berth.dev/berth/compiler/diag"
)

// Summary counts what a lint run looked at and found.
type Summary struct {
	Objects  int `json:"objects"`
	Files    int `json:"files"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Object is one object that was checked, for the formats that list
// passes as well as failures (junit).
type Object struct {
	File       string
	Line       int
	APIVersion string
	Kind       string
	// ID is "Kind namespace/name", as in diag.Diagnostic.Object.
	ID string
}

// Result is everything a formatter renders.
type Result struct {
	Diagnostics []diag.Diagnostic
	Summary     Summary
	Objects     []Object
}

// Formatter writes a result in one format.
type Formatter interface {
	Format(w io.Writer, r Result) error
}

// formats maps a format's name to its formatter.
var formats = map[string]Formatter{
	"text":   Text{},
	"json":   JSON{},
	"github": GitHub{},
	"sarif":  SARIF{},
	"junit":  JUnit{},
}

// Names lists the formats, sorted.
func Names() []string {
	var names []string
	for n := range formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// New returns the formatter called name.
func New(name string) (Formatter, error) {
	f, ok := formats[name]
	if !ok {
		return nil, fmt.Errorf("unknown output format %q: use one of %s", name, strings.Join(Names(), ", "))
	}
	return f, nil
}

// plural is "1 error" or "2 errors".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Line is the one-line summary the text formats end with.
func (s Summary) Line() string {
	return fmt.Sprintf("%s in %s: %s, %s", plural(s.Objects, "object"), plural(s.Files, "file"),
		plural(s.Errors, "error"), plural(s.Warnings, "warning"))
}
