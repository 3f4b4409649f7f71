package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"berth.dev/berth/compiler/diag"
)

// sample has an error, a warning, a note, a diagnostic without object,
// a message that needs escaping, and a clean object.
var sample = Result{
	Diagnostics: []diag.Diagnostic{
		{Pos: diag.Pos{File: "app/pod.yaml", Line: 2, Col: 7}, Severity: diag.Error, Rule: "schema", Object: "Pod default/web",
			Path: "kind", Message: `"pod" is not a kind berth supports: did you mean "Pod"?`},
		{Pos: diag.Pos{File: "app/pod.yaml", Line: 9, Col: 16}, Severity: diag.Warning, Rule: "image-tag", Object: "Pod default/web",
			Path: "spec.containers[0].image", Message: "image nginx has no tag, 100% mutable,\nuse a version"},
		{Pos: diag.Pos{File: "app/sa.yaml", Line: 3, Col: 9}, Severity: diag.Note, Rule: "no-effect", Object: "ServiceAccount default/web",
			Path: "metadata.name", Message: "ServiceAccount objects have no effect on a berth node"},
		{Pos: diag.Pos{File: "bad.yaml", Line: 3, Col: 1}, Severity: diag.Error, Rule: "syntax",
			Message: "YAML syntax error: mapping values are not allowed in this context"},
	},
	Summary: Summary{Objects: 2, Files: 3, Errors: 2, Warnings: 1},
	Objects: []Object{
		{File: "app/pod.yaml", Line: 1, APIVersion: "v1", Kind: "Pod", ID: "Pod default/web"},
		{File: "app/svc.yaml", Line: 1, APIVersion: "v1", Kind: "Service", ID: "Service default/web"},
	},
}

func TestGolden(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			f, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := f.Format(&buf, sample); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("output differs from %s:\n%s", golden, buf.String())
			}
			// The machine formats must parse.
			switch name {
			case "json", "sarif":
				var v any
				if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
					t.Errorf("invalid JSON: %v", err)
				}
			case "junit":
				var v junitSuites
				if err := xml.Unmarshal(buf.Bytes(), &v); err != nil {
					t.Errorf("invalid XML: %v", err)
				}
				if v.Tests != 4 || v.Failures != 2 {
					t.Errorf("junit counts tests=%d failures=%d, want 4 and 2", v.Tests, v.Failures)
				}
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := (JSON{}).Format(&buf, Result{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"diagnostics": []`)) {
		t.Errorf("empty json lacks an empty list:\n%s", buf.String())
	}
	if _, err := New("yaml"); err == nil {
		t.Error("New(yaml) accepted an unknown format")
	}
}

func TestSummaryLine(t *testing.T) {
	tests := []struct {
		s    Summary
		want string
	}{
		{Summary{}, "0 objects in 0 files: 0 errors, 0 warnings"},
		{Summary{1, 1, 1, 1}, "1 object in 1 file: 1 error, 1 warning"},
		{Summary{10000, 250, 0, 3}, "10000 objects in 250 files: 0 errors, 3 warnings"},
	}
	for _, tt := range tests {
		if got := tt.s.Line(); got != tt.want {
			t.Errorf("Line() = %q, want %q", got, tt.want)
		}
	}
}

func TestFileURI(t *testing.T) {
	for in, want := range map[string]string{
		"app/pod.yaml":    "app/pod.yaml",
		"my app/a b.yaml": "my%20app/a%20b.yaml",
		"-":               "-",
	} {
		if got := fileURI(in); got != want {
			t.Errorf("fileURI(%q) = %q, want %q", in, got, want)
		}
	}
}
