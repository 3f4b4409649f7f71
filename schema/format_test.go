package schema

import (
	"os"
	"path/filepath"
	"testing"

	"cuelang.org/go/cue/format"
)

// TestCUEFormatted keeps the schema files as `cue fmt` writes them: they
// are printed to users by `berth schema`. BERTH_FORMAT_CUE=1 rewrites them.
func TestCUEFormatted(t *testing.T) {
	files, err := filepath.Glob("cue/*.cue")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files: %v", err)
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := format.Source(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(out) == string(src) {
			continue
		}
		if os.Getenv("BERTH_FORMAT_CUE") == "1" {
			if err := os.WriteFile(name, out, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s is not formatted; run BERTH_FORMAT_CUE=1 go test -run TestCUEFormatted ./schema", name)
	}
}
