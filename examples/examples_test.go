// Package examples_test checks the example repositories users copy: each
// one lints clean, and each file of broken/ yields exactly the diagnostics
// of its golden file (broken/golden/NAME.txt, in the text format
// `file:line:col: severity: path: message`). UPDATE_GOLDEN=1 rewrites the
// goldens; read every change before committing it.
package examples_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/diag"
)

// examples lists every example repository with the warnings and notes it
// is expected to produce: no warning (examples teach good habits), and
// the note that says what a ServiceAccount does on a berth node.
var examples = map[string][]string{
	"batch":     nil,
	"daemonset": nil,
	"hello":     nil,
	"quota":     nil,
	"rollouts":  nil,
	"shop":      {"examples/shop/serviceaccount.yaml:7:9: note: metadata.name: berth has no API server, so these objects are checked (names, rules, references) and have no effect on a berth node: 1 ServiceAccount. A ServiceAccount's imagePullSecrets are used by its pods; no pod gets a service account token"},
	"volumes":   nil,
	"web":       nil,
}

// lint runs compiler.Lint from the repository root, so that positions read
// "examples/...", as `make lint-examples` prints them.
func lint(t *testing.T, opts compiler.Options, paths ...string) []diag.Diagnostic {
	t.Helper()
	ds, _, err := compiler.Lint(paths, opts)
	if err != nil {
		t.Fatalf("lint %v: %v", paths, err)
	}
	return ds
}

func text(ds []diag.Diagnostic) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

func TestExamplesLintClean(t *testing.T) {
	t.Chdir("..")
	dirs, err := filepath.Glob("examples/*")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		if info, err := os.Stat(dir); err != nil || !info.IsDir() || name == "broken" {
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, known := examples[name]
			if !known {
				t.Fatalf("examples/%s is not listed in examples_test.go: add it with its expected warnings", name)
			}
			if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
				t.Errorf("examples/%s has no README.md saying what it shows", name)
			}
			ds, sum, err := compiler.Lint([]string{dir}, compiler.Options{})
			if err != nil {
				t.Fatalf("lint: %v", err)
			}
			if sum.Objects == 0 {
				t.Errorf("no objects in %s", dir)
			}
			var errs, warns []string
			for _, d := range ds {
				if d.Severity == diag.Error {
					errs = append(errs, d.String())
				} else {
					warns = append(warns, d.String())
				}
			}
			if len(errs) > 0 {
				t.Errorf("errors in an example:\n%s", strings.Join(errs, "\n"))
			}
			if !slices.Equal(warns, want) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warns, "\n"), strings.Join(want, "\n"))
			}
		})
	}
	for name := range examples {
		if !seen[name] {
			t.Errorf("examples/%s is missing", name)
		}
	}
}

// TestExamplesTree lints the whole tree at once, as `make lint-examples`
// does: the examples must not clash with each other either (names,
// node ports).
func TestExamplesTree(t *testing.T) {
	t.Chdir("..")
	var want []string
	for _, w := range examples {
		want = append(want, w...)
	}
	slices.Sort(want)
	got := text(lint(t, compiler.Options{Exclude: []string{"examples/broken"}}, "examples"))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("lint examples:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBrokenGolden(t *testing.T) {
	t.Chdir("..")
	files, err := filepath.Glob("examples/broken/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no broken examples: %v", err)
	}
	update := os.Getenv("UPDATE_GOLDEN") == "1"
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			got := text(lint(t, compiler.Options{}, file))
			if len(got) == 0 {
				t.Fatalf("%s lints clean; a broken example must show its mistake", file)
			}
			// The worker count must not change the findings or their order.
			if again := text(lint(t, compiler.Options{Workers: 1}, file)); !slices.Equal(again, got) {
				t.Errorf("with 1 worker:\n%s\nwith the default:\n%s", strings.Join(again, "\n"), strings.Join(got, "\n"))
			}
			golden := filepath.Join("examples", "broken", "golden", name+".txt")
			body := strings.Join(got, "\n") + "\n"
			if update {
				if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run UPDATE_GOLDEN=1 go test ./examples/ and read the result)", err)
			}
			if string(want) != body {
				t.Errorf("%s:\ngot:\n%swant:\n%s", file, body, want)
			}
		})
	}
	// Every golden belongs to a broken file.
	goldens, _ := filepath.Glob("examples/broken/golden/*.txt")
	for _, g := range goldens {
		yaml := filepath.Join("examples", "broken", strings.TrimSuffix(filepath.Base(g), ".txt")+".yaml")
		if !slices.Contains(files, yaml) {
			t.Errorf("%s has no %s: delete it", g, yaml)
		}
	}
}
