package assemble

import (
	"encoding/json"
	"os"
	"testing"
)

func TestPlanWeb(t *testing.T) {
	src, err := os.ReadFile("testdata/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, ds := Plan(decodeSet(t, string(src)), Options{})
	if errs := errorsOf(ds); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	t.Logf("%s", b)
}
