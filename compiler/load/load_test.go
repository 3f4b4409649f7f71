package load

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/compiler/diag"
)

// writeTree creates files (path -> content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// summary renders documents as "file#index@line:col kind" and
// diagnostics as their text form, relative to dir.
func summary(dir string, docs []Document, ds []diag.Diagnostic) []string {
	var out []string
	for _, d := range docs {
		kind := ""
		for i := 0; i+1 < len(d.Node.Content); i += 2 {
			if d.Node.Content[i].Value == "kind" {
				kind = d.Node.Content[i+1].Value
			}
		}
		rel, _ := filepath.Rel(dir, d.File)
		out = append(out, fmt.Sprintf("%s#%d@%d:%d %s", rel, d.Index, d.Node.Line, d.Node.Column, kind))
	}
	for _, d := range ds {
		rel, _ := filepath.Rel(dir, d.File)
		d.File = rel
		out = append(out, d.Rule+" "+d.String())
	}
	return out
}

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		exclude []string
		want    []string
	}{{
		name: "multi-document YAML keeps lines and skips empty documents",
		files: map[string]string{
			"a.yaml": fmt.Sprintf(cm, "a") + "---\n---\n# only a comment\n---\n" + fmt.Sprintf(cm, "b"),
		},
		want: []string{"a.yaml#0@1:1 ConfigMap", "a.yaml#3@9:1 ConfigMap"},
	}, {
		name: "sorted paths, JSON, non-manifests and hidden directories skipped",
		files: map[string]string{
			"z/b.yml":          fmt.Sprintf(cm, "b"),
			"a.json":           "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Secret\"\n}\n",
			"README.md":        "# not a manifest\n",
			".git/config.yaml": "kind: X\n",
			"notes.txt":        "kind: X\n",
		},
		want: []string{"a.json#0@1:1 Secret", "z/b.yml#0@1:1 ConfigMap"},
	}, {
		name: "syntax error reports its own line and spares the next document",
		files: map[string]string{
			"bad.yaml": fmt.Sprintf(cm, "a") + "---\nkind: Pod\nspec:\n  x: [1,\n---\n" + fmt.Sprintf(cm, "c"),
		},
		want: []string{"bad.yaml#0@1:1 ConfigMap", "bad.yaml#2@10:1 ConfigMap",
			"syntax bad.yaml:8:1: error: YAML syntax error: did not find expected node content"},
	}, {
		name:  "a list is not an object",
		files: map[string]string{"l.yaml": "- a\n- b\n"},
		want:  []string{"syntax l.yaml:1:1: error: document is a list, not an object: a manifest is a mapping with apiVersion, kind and metadata"},
	}, {
		name: "berthignore with gitignore syntax, in nested directories",
		files: map[string]string{
			".berthignore":       "# generated\ngen/\n*.draft.yaml\n",
			"gen/x.yaml":         fmt.Sprintf(cm, "x"),
			"app/.berthignore":   "local.yaml\n",
			"app/local.yaml":     fmt.Sprintf(cm, "l"),
			"app/main.yaml":      fmt.Sprintf(cm, "m"),
			"app/wip.draft.yaml": fmt.Sprintf(cm, "w"),
			"other/local.yaml":   fmt.Sprintf(cm, "o"),
		},
		want: []string{"app/main.yaml#0@1:1 ConfigMap", "other/local.yaml#0@1:1 ConfigMap"},
	}, {
		name: "exclude globs match directories and base names",
		files: map[string]string{
			"broken/a.yaml":  fmt.Sprintf(cm, "a"),
			"ok/b.yaml":      fmt.Sprintf(cm, "b"),
			"ok/c_test.yaml": fmt.Sprintf(cm, "c"),
		},
		exclude: []string{"broken", "*_test.yaml"},
		want:    []string{"ok/b.yaml#0@1:1 ConfigMap"},
	}, {
		name: "CUE package: objects list across files, positions from CUE",
		files: map[string]string{
			"cue/a.cue": "package demo\n\nobjects: [_cm, {\n\tapiVersion: \"v1\"\n\tkind: \"Namespace\"\n\tmetadata: name: \"n\"\n}]\n",
			"cue/b.cue": "package demo\n\n_cm: {\n\tapiVersion: \"v1\"\n\tkind: \"ConfigMap\"\n\tmetadata: name: \"c\"\n\tdata: x: \"\\(metadata.name)-1\"\n}\n",
		},
		want: []string{"cue/b.cue#0@3:11 ConfigMap", "cue/a.cue#0@3:16 Namespace"},
	}, {
		name: "CUE package: objects struct, a conflict is a diagnostic",
		files: map[string]string{
			"p.cue": "package p\n\nobjects: web: {apiVersion: \"v1\", kind: \"Service\"}\nobjects: web: kind: \"Pod\"\n",
		},
		want: []string{`cue p.cue:3:40: error: objects.web.kind: conflicting values "Pod" and "Service"`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			docs, ds := Load([]string{dir}, Options{Workers: 2, Exclude: tt.exclude})
			got := summary(dir, docs, ds)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadStdinAndFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{"x.txt": fmt.Sprintf(cm, "x")})
	in := strings.NewReader(fmt.Sprintf(cm, "s") + "---\n" + fmt.Sprintf(cm, "t"))
	// A file named explicitly is read whatever its extension.
	docs, ds := Load([]string{filepath.Join(dir, "x.txt"), "-", filepath.Join(dir, "missing.yaml")}, Options{Stdin: in})
	if len(docs) != 3 || docs[0].File != "-" || docs[1].File != "-" || docs[1].Node.Line != 6 {
		t.Errorf("docs = %+v", docs)
	}
	if len(ds) != 1 || ds[0].Rule != RuleIO || !strings.Contains(ds[0].Message, "no such file") {
		t.Errorf("diags = %v", ds)
	}
}

func TestLoadDeterministic(t *testing.T) {
	files := map[string]string{}
	for i := range 50 {
		files[fmt.Sprintf("d%d/f%02d.yaml", i%7, i)] = fmt.Sprintf(cm, fmt.Sprint(i)) + "---\n" + fmt.Sprintf(cm, fmt.Sprint(i, "b"))
	}
	dir := writeTree(t, files)
	want, _ := Load([]string{dir}, Options{Workers: 1})
	for _, w := range []int{2, 8} {
		got, _ := Load([]string{dir}, Options{Workers: w})
		if fmt.Sprint(summary(dir, got, nil)) != fmt.Sprint(summary(dir, want, nil)) {
			t.Fatalf("workers %d changed the order", w)
		}
	}
}

func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		in   string
		want []int // start lines
	}{
		{"a: 1\n", []int{0}},
		{"---\na: 1\n", []int{0}},
		{"a: 1\n---\nb: 2\n--- # c\nc: 3", []int{0, 1, 3}},
		{"a: |\n  ---\n----\n", []int{0}},
		{"a: 1\n---\r\nb: 1\n", []int{0, 1}},
	}
	for _, tt := range tests {
		var got []int
		for _, c := range splitDocuments(tt.in) {
			got = append(got, c.line)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("split(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
