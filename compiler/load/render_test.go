package load

import (
	"path/filepath"
	"slices"
	"testing"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
)

// stubRenderer treats directories holding "build.me" as roots; it
// renders one ConfigMap per root and consumes the file "values.yaml".
type stubRenderer struct {
	roots []Root
	seen  int // documents Render was given
}

func (s *stubRenderer) Root(dir string) bool { return HasFile(dir, "build.me") }

func (s *stubRenderer) Render(roots []Root, docs []Document) ([]Document, []string, []diag.Diagnostic) {
	s.roots, s.seen = roots, len(docs)
	var out []Document
	var consumed []string
	for _, r := range roots {
		ds, _ := ParseYAML(filepath.Join(r.Dir, "out.yaml"), []byte("kind: ConfigMap\nmetadata: {name: rendered}\n"), budget.Limits{})
		out = append(out, ds...)
		consumed = append(consumed, filepath.Join(r.Top, "values.yaml"))
	}
	return out, consumed, nil
}

// TestRendererHook: a root's files are not read one by one (even a broken
// one), its rendered documents are added, and the files it consumed are
// dropped with their findings.
func TestRendererHook(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"plain.yaml":       "kind: Service\nmetadata: {name: s}\n",
		"values.yaml":      "image: x\n: broken\n",
		"chart/build.me":   "",
		"chart/tmpl.yaml":  "{{ not yaml",
		"chart/sub/x.yaml": "kind: Pod\n",
	})
	r := &stubRenderer{}
	docs, diags := Load([]string{dir}, Options{Renderer: r})
	if len(diags) != 0 {
		t.Fatalf("diags: %v", diags)
	}
	if want := []Root{{Dir: filepath.Join(dir, "chart"), Top: dir}}; !slices.Equal(r.roots, want) {
		t.Fatalf("roots %v, want %v", r.roots, want)
	}
	got := summary(dir, docs, nil)
	want := []string{"plain.yaml#0@1:1 Service", "chart/out.yaml#0@1:1 ConfigMap"}
	if !slices.Equal(got, want) {
		t.Fatalf("docs %v, want %v", got, want)
	}
	if r.seen != 1 {
		t.Errorf("Render saw %d plain documents, want 1", r.seen)
	}

	// Without a renderer every file is read as written.
	docs, diags = Load([]string{dir}, Options{})
	if len(docs) != 2 || len(diags) != 2 {
		t.Fatalf("without a renderer: %d docs, %v", len(docs), diags)
	}
}
