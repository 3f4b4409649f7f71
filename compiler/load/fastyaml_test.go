package load

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/bench/corpus"
)

// sameTree compares two node trees on everything but comments.
func sameTree(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column || len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: fast {kind %d style %d tag %s value %q at %d:%d, %d children} yaml.v3 {kind %d style %d tag %s value %q at %d:%d, %d children}",
			path, a.Kind, a.Style, a.Tag, a.Value, a.Line, a.Column, len(a.Content), b.Kind, b.Style, b.Tag, b.Value, b.Line, b.Column, len(b.Content))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// checkFast parses text with both parsers; where the fast path answers,
// yaml.v3 must give the same tree. It reports whether the fast path
// answered.
func checkFast(t *testing.T, text string) bool {
	t.Helper()
	fast, ok := fastParseStrict(text, 0, nil, nil)
	if !ok {
		return false
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		t.Fatalf("fast path accepted what yaml.v3 rejects (%v):\n%s", err, text)
	}
	if fast == nil {
		if len(root.Content) > 0 && root.Content[0].Tag != "!!null" {
			t.Fatalf("fast path found no document, yaml.v3 found %v:\n%s", root.Content[0].Kind, text)
		}
		return true
	}
	if len(root.Content) != 1 {
		t.Fatalf("yaml.v3 found no document:\n%s", text)
	}
	if err := sameTree(fast, root.Content[0], ""); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return true
}

func TestFastYAML(t *testing.T) {
	tests := []struct {
		text string
		fast bool // the fast path must answer
	}{
		{"a: 1\nb: two\nc: \"3\"\nd: '4'\n", true},
		{"---\nkind : pod\nmetadata :\n    name : hellow-pod\n", true},
		{"a:\n  b:\n    - 1\n    - x: y\n      z: [1, \"2\", three]\n  c:\n  - d\n  - e\n", true},
		{"a: |\n  line 1\n\n  line # 3\nb: |-\n  x\n  y\nc: 8080\n", true},
		{"- a\n", false},
		{"a: &x 1\nb: *x\n", false},
		{"a: b\n  c\n", false},
		{"a: >\n  folded\n", false},
		{"a: {b: 1}\n", false},
		{"a:\tb\n", false},
		{"a: 'it''s'\nb: \"q\\\"x\\n\"\nc: 0777\nd: 1.5\ne: 2006-01-02\nf: null\ng: ~\nh: TRUE\ni: yes\nj: -1\nk: .5\n", true},
		{"a: 1 # comment\n# c\nb: # c\n  - x # c\nc:\n", true},
		{"a: 이미지명\nb: \"é\": 1\n", false},
		{"a: 이미지명\nbé: [ü, 2]\n", true},
		{"a:\n- b: 1\n  c: 2\n-\n- - x\n  - y\n", true},
		{"a: [1, 2,]\n", false},
		{"a: b: c\n", false},
		{"a: []\nb: {}\n", true},
		{"cpu: 100m\nmem: 128Mi\nsurge: 25%\nv: 1.2.0\nh: 0x1F\nt: 2001-12-14t21:59:43.10-05:00\nu: 1_000\nz: 0\nf: 1e3\n", true},
	}
	for _, tt := range tests {
		if got := checkFast(t, tt.text); got != tt.fast {
			t.Errorf("fast path answered %v, want %v, for:\n%s", got, tt.fast, tt.text)
		}
	}
}

// TestFastYAMLCorpus checks the two parsers agree on every YAML file in
// the repository's examples and test data, and on a generated corpus.
func TestFastYAMLFiles(t *testing.T) {
	var files []string
	for _, glob := range []string{"../../examples/*/*.yaml", "../testdata/*/*/*.yaml", "../../cmd/berth/testdata/script/*.txtar"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	answered := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if strings.HasSuffix(f, ".txtar") {
			// The archive's files are the parts between "-- name --" lines.
			for _, part := range strings.Split(text, "\n-- ") {
				if _, body, ok := strings.Cut(part, " --\n"); ok {
					for _, c := range splitDocuments(body) {
						if checkFast(t, c.text) {
							answered++
						}
					}
				}
			}
			continue
		}
		for _, c := range splitDocuments(text) {
			if checkFast(t, c.text) {
				answered++
			}
		}
	}
	t.Logf("%d files, %d documents answered by the fast path", len(files), answered)
}

// FuzzFastYAML checks the fast path against yaml.v3 on arbitrary input.
func FuzzFastYAML(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb: two\n",
		"a:\n  b:\n    - 1\n    - x: y\n      z: [1, \"2\", three]\n",
		"a: |\n  line 1\n\n  line 3\nb: |-\n  x\n",
		"a: 'it''s'\nb: \"q\\\"x\"\nc: 0777\n",
		"a:\n- b: 1\n  c: 2\n-\n- - x\n",
		"kind : pod\nspec :\n    containers :\n        - name : c\n",
	} {
		f.Add(s)
	}
	// Realistic documents: the benchmark corpus's.
	dir := f.TempDir()
	if err := corpus.Write(dir, 12, 5); err != nil {
		f.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, c := range splitDocuments(string(data)) {
			f.Add(c.text)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFast(t, s)
	})
}
