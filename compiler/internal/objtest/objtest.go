// Package objtest turns YAML snippets into the objects the compiler's
// passes take, and their diagnostics into text a test can compare. It is
// shared by the _test.go files of the compiler packages and imported by
// nothing else.
package objtest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
)

// File is the file name the decoded objects' positions report, so a
// wanted diagnostic reads "test.yaml:LINE:COL: ...".
const File = "test.yaml"

// Set decodes the documents of a multi-document YAML snippet into a Set,
// with positions in File; lines count from the snippet's first line.
func Set(t testing.TB, src string) *object.Set {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(src))
	var objs []*object.Object
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("yaml: %v", err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			// An empty document, e.g. after a trailing "---": skipped, but
			// it keeps its index, as the loader counts it.
			continue
		}
		o, err := object.Decode(&load.Document{File: File, Index: i, Node: n.Content[0]})
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		objs = append(objs, o)
	}
	return object.NewSet(objs)
}

// Strings is ds as text, sorted by position (diag.Sort) so that a test
// does not depend on the order a pass reports in; ds is left as it is.
func Strings(ds []diag.Diagnostic) []string {
	sorted := slices.Clone(ds)
	diag.Sort(sorted)
	out := make([]string, len(sorted))
	for i, d := range sorted {
		out[i] = d.String()
	}
	return out
}

// Errors is the text of the error-severity diagnostics of ds, in order:
// the warnings a pass may add beside are not what these tests judge.
func Errors(ds []diag.Diagnostic) []string {
	var out []string
	for _, d := range ds {
		if d.Severity == diag.Error {
			out = append(out, d.String())
		}
	}
	return out
}

// Expect fails t unless the diagnostics got equal want, line for line;
// the message shows both and the lines of src that got points at.
func Expect(t testing.TB, src string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s\nwhere:\n%s", Lines(got), Lines(want), Carets(src, got))
	}
}

// Lines puts each of s on an indented line of its own, for a message.
func Lines(s []string) string {
	var b strings.Builder
	for _, l := range s {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// Carets shows the line of src and the column each diagnostic of ds (as
// text, positioned in File) points at, to make a failing case quick to
// judge; a diagnostic without such a position is left out.
func Carets(src string, ds []string) string {
	srcLines := strings.Split(src, "\n")
	var b strings.Builder
	for _, d := range ds {
		var line, col int
		rest, ok := strings.CutPrefix(d, File+":")
		if !ok {
			continue
		}
		if _, err := fmt.Sscanf(rest, "%d:%d:", &line, &col); err != nil || line < 1 || line > len(srcLines) {
			continue
		}
		fmt.Fprintf(&b, "  %3d| %s\n       %s^\n", line, srcLines[line-1], strings.Repeat(" ", max(col-1, 0)))
	}
	return b.String()
}
