package berth_test

import (
	"os"
	"strings"
	"testing"

	"berth.dev/berth/schema"
)

// TestREADME keeps the README's field table equal to the schemas.
func TestREADME(t *testing.T) {
	s, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- BEGIN FIELDS -->\n", "<!-- END FIELDS -->"
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatal("README.md lacks the field table markers")
	}
	want := readme[:i+len(begin)] + s.FieldTable() + readme[j:]
	if want == readme {
		return
	}
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile("README.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("README.md's field table is out of date: run UPDATE_GOLDEN=1 go test . -run TestREADME")
}
