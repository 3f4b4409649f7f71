package check

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

// decodeSet decodes a multi-document YAML snippet into a Set; positions
// are reported in file "test.yaml".
func decodeSet(t testing.TB, src string) *object.Set {
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
			continue // an empty document, e.g. after a trailing "---"
		}
		o, err := object.Decode(&load.Document{File: "test.yaml", Index: i, Node: n.Content[0]})
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		objs = append(objs, o)
	}
	return object.NewSet(objs)
}

func strs(ds []diag.Diagnostic) []string {
	diag.Sort(ds)
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

// run runs the checks on src and returns the diagnostics of the given
// rules (all of them with no rule), sorted, as text.
func run(t testing.TB, src string, rules ...string) []string {
	t.Helper()
	var out []diag.Diagnostic
	for _, d := range Run(decodeSet(t, src), Options{}) {
		if len(rules) == 0 || slices.Contains(rules, d.Rule) {
			out = append(out, d)
		}
	}
	return strs(out)
}

type checkCase struct {
	name string
	src  string
	want []string
}

func runCases(t *testing.T, rule string, cases []checkCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.src, rule)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got:\n%s\nwant:\n%s\nwhere:\n%s", lines(got), lines(tt.want), carets(tt.src, got))
			}
		})
	}
}

func lines(s []string) string {
	out := ""
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}

// carets shows the source line and column each diagnostic points at, to
// make a failing case quick to judge.
func carets(src string, ds []string) string {
	srcLines := strings.Split(src, "\n")
	out := ""
	for _, d := range ds {
		var line, col int
		if _, err := fmt.Sscanf(strings.TrimPrefix(d, "test.yaml:"), "%d:%d:", &line, &col); err != nil || line < 1 || line > len(srcLines) {
			continue
		}
		out += fmt.Sprintf("  %3d| %s\n       %s^\n", line, srcLines[line-1], strings.Repeat(" ", max(col-1, 0)))
	}
	return out
}
