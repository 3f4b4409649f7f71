package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/bench/corpus"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/schema"
)

func schemas(t testing.TB) *schema.Set {
	t.Helper()
	s, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func docs(t testing.TB, files map[string]string) []load.Document {
	t.Helper()
	var out []load.Document
	var ds []diag.Diagnostic
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, ds = load.Load([]string{dir}, load.Options{})
	if len(ds) > 0 {
		t.Fatalf("load: %v", ds)
	}
	for i := range out {
		out[i].File = filepath.Base(out[i].File)
	}
	return out
}

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n"

func TestFront(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		opts    Options
		objects int
		want    []string
	}{{
		name:    "valid objects become the set",
		files:   map[string]string{"a.yaml": fmt.Sprintf(configMap, "a", "default") + "---\n" + fmt.Sprintf(configMap, "b", "default")},
		objects: 2,
	}, {
		name: "duplicate across files names the first",
		files: map[string]string{
			"a.yaml": fmt.Sprintf(configMap, "x", "default"),
			"b.yaml": "# dup\n" + fmt.Sprintf(configMap, "x", "default"),
		},
		objects: 2,
		want:    []string{"b.yaml:5:9: error: metadata.name: ConfigMap default/x is already defined at a.yaml:4:9; names must be unique per kind and namespace [duplicate-object ConfigMap default/x]"},
	}, {
		name:    "same name in two namespaces is no duplicate",
		files:   map[string]string{"a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n---\n" + fmt.Sprintf(configMap, "x", "default") + "---\n" + fmt.Sprintf(configMap, "x", "other")},
		objects: 3,
	}, {
		name:    "schema errors keep the object out of the set",
		files:   map[string]string{"a.yaml": fmt.Sprintf(configMap, "Bad_Name", "default")},
		objects: 0,
		want:    []string{`a.yaml:4:9: error: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*') [schema ConfigMap default/Bad_Name]`},
	}, {
		name:    "unknown field is an error",
		files:   map[string]string{"a.yaml": fmt.Sprintf(configMap, "a", "default") + "colour: red\n"},
		objects: 0,
		want:    []string{`a.yaml:6:1: error: colour: field "colour" is not supported by berth [unknown-field ConfigMap default/a]`},
	}, {
		name:    "unknown field is a warning when allowed, and the object is kept",
		files:   map[string]string{"a.yaml": fmt.Sprintf(configMap, "a", "default") + "colour: red\n"},
		opts:    Options{AllowUnknownFields: true},
		objects: 1,
		want:    []string{`a.yaml:6:1: warning: colour: field "colour" is not supported by berth [unknown-field ConfigMap default/a]`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Schemas = schemas(t)
			set, ds := Front(docs(t, tt.files), tt.opts)
			var got []string
			for _, d := range ds {
				got = append(got, fmt.Sprintf("%s [%s %s]", d, d.Rule, d.Object))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if n := len(set.All()); n != tt.objects {
				t.Errorf("set has %d objects, want %d", n, tt.objects)
			}
		})
	}
}

func TestLintSummaryAndIOError(t *testing.T) {
	dir := t.TempDir()
	if err := corpus.Write(dir, 60, 5); err != nil {
		t.Fatal(err)
	}
	ds, sum, err := Lint([]string{dir}, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 0 {
		t.Errorf("the benchmark corpus is not clean: %v", ds)
	}
	if sum.Objects != 60 || sum.Errors != 0 || sum.Warnings != 0 || sum.Files < 10 || len(sum.Checked) != 60 {
		t.Errorf("summary = %+v", sum)
	}
	if _, _, err := Lint([]string{filepath.Join(dir, "nope")}, Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing path: err = %v", err)
	}
}

func TestFrontDeterministic(t *testing.T) {
	dir := t.TempDir()
	if err := corpus.Write(dir, 300, 10); err != nil {
		t.Fatal(err)
	}
	// Break some objects so that there is output to compare.
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "0.yaml") {
			return err
		}
		b, _ := os.ReadFile(p)
		return os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "containerPort: ", "containerPort: 7")), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, w := range []int{1, 2, 7} {
		ds, _, err := Lint([]string{dir}, Options{Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(ds)
		if w == 1 {
			want = got
			if len(ds) == 0 {
				t.Fatal("no diagnostics to compare")
			}
		} else if got != want {
			t.Errorf("workers=%d changed the diagnostics", w)
		}
	}
}

// BenchmarkLint10k lints the 10,000-object corpora of bench/, the same
// ones bench/lint.sh compares with kubeconform: load, validate, decode,
// check.
func BenchmarkLint10k(b *testing.B) { benchLint(b, corpus.Repo) }

// BenchmarkLint10kOneNamespace is the one-namespace shape.
func BenchmarkLint10kOneNamespace(b *testing.B) { benchLint(b, corpus.OneNamespace) }

func benchLint(b *testing.B, shape string) {
	benchDir := b.TempDir()
	if err := corpus.WriteShape(benchDir, shape, 10000, 40); err != nil {
		b.Fatal(err)
	}
	opts := Options{Workers: 2, Schemas: schemas(b)}
	b.ReportAllocs()
	for b.Loop() {
		ds, sum, err := Lint([]string{benchDir}, opts)
		if err != nil || sum.Objects != 10000 || sum.Errors != 0 {
			b.Fatalf("lint: err=%v summary=%+v first=%v", err, sum, ds)
		}
	}
}
