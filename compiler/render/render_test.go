package render_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/render"
)

// TestGolden renders each testdata case as `berth render` prints it, and
// lints it as `berth lint` does; both are pinned in testdata/golden
// (UPDATE_GOLDEN=1 rewrites them).
func TestGolden(t *testing.T) {
	cases := []struct {
		name, path string
		opts       compiler.Options
	}{
		{"scaffold", "testdata/hello", compiler.Options{}},
		{"shop", "testdata/shop", compiler.Options{}},
		{"release", "testdata/release", compiler.Options{AllowUnknownFields: true}},
		{"kustomize-dev", "testdata/kustomize/overlays/dev", compiler.Options{}},
		{"kustomize-prod", "testdata/kustomize/overlays/prod", compiler.Options{}},
		{"kustomize-both", "testdata/kustomize", compiler.Options{}},
		{"remote", "testdata/remote", compiler.Options{}},
		{"broken-overlay", "testdata/broken/overlay", compiler.Options{}},
		{"broken-values", "testdata/broken/values.yaml", compiler.Options{}},
		{"broken-template", "testdata/broken/template", compiler.Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			docs, diags, err := compiler.Load([]string{c.path}, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := render.Print(&out, docs, false); err != nil {
				t.Fatal(err)
			}
			lint, _, err := compiler.Lint([]string{c.path}, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "# render: %d findings\n", len(diags))
			writeDiags(&out, diags)
			fmt.Fprintf(&out, "# lint: %d findings\n", len(lint))
			writeDiags(&out, lint)
			golden(t, filepath.Join("testdata", "golden", c.name+".yaml"), out.Bytes())
		})
	}
}

func writeDiags(b *bytes.Buffer, ds []diag.Diagnostic) {
	for _, d := range ds {
		fmt.Fprintf(b, "#   %s [%s]\n", d, d.Rule)
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (UPDATE_GOLDEN=1 rewrites it):\n%s", file, diffLines(string(want), string(got)))
	}
}

// diffLines shows the first lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, a, b)
		}
	}
	return ""
}
