package plan

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestPlanOwnsItsTypes: neither the plan nor the node drivers that read
// it depend on the compiler's input model (compiler/api), so a change to
// the input types cannot change the plan's JSON behind FormatVersion.
func TestPlanOwnsItsTypes(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "berth.dev/berth/compiler/plan", "berth.dev/berth/nodes/...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "berth.dev/berth/compiler/api" {
			t.Fatal("compiler/plan or nodes/... imports compiler/api: give the plan its own type (compiler/plan/types.go)")
		}
	}
}
