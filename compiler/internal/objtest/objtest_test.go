package objtest

import (
	"slices"
	"testing"

	"berth.dev/berth/compiler/diag"
)

// TestSetPositions pins what the compiler tests' wanted diagnostics rely
// on: the file name, lines counted from the snippet's first line, and
// document indexes that count the empty documents too.
func TestSetPositions(t *testing.T) {
	src := `apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
data: {k: v}
---
`
	set := Set(t, src)
	all := set.All()
	if len(all) != 2 {
		t.Fatalf("got %d objects, want 2", len(all))
	}
	b := set.Get("ConfigMap", "default", "b")
	if b == nil {
		t.Fatalf("ConfigMap default/b not in the set: %v", all)
	}
	if b.Doc.Index != 2 {
		t.Errorf("index of b = %d, want 2", b.Doc.Index)
	}
	if got, want := b.Pos("data.k"), (diag.Pos{File: "test.yaml", Line: 9, Col: 11}); got != want {
		t.Errorf("position of b's data.k = %v, want %v", got, want)
	}
}

func TestStrings(t *testing.T) {
	ds := []diag.Diagnostic{
		{Pos: diag.Pos{File: File, Line: 9, Col: 1}, Severity: diag.Warning, Message: "late"},
		{Pos: diag.Pos{File: File, Line: 2, Col: 3}, Severity: diag.Error, Path: "spec", Message: "early"},
	}
	want := []string{"test.yaml:2:3: error: spec: early", "test.yaml:9:1: warning: late"}
	if got := Strings(ds); !slices.Equal(got, want) {
		t.Errorf("Strings = %q, want %q", got, want)
	}
	if ds[0].Message != "late" {
		t.Errorf("Strings reordered its argument")
	}
	if got := Errors(ds); !slices.Equal(got, want[:1]) {
		t.Errorf("Errors = %q, want %q", got, want[:1])
	}
}

func TestCarets(t *testing.T) {
	src := "a: 1\nbb: {c: 2}\n"
	got := Carets(src, []string{"test.yaml:2:6: error: x", "other.yaml:1:1: error: y", "test.yaml:7:1: error: z"})
	want := "    2| bb: {c: 2}\n            ^\n"
	if got != want {
		t.Errorf("Carets =\n%q\nwant\n%q", got, want)
	}
}
