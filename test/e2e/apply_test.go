package e2e_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyThroughTheLoop: `berth apply` converges this node through the
// reconciler's loop, the daemon's path (one request, then the loop's own
// passes, each printed): the pods run and are ready, and a second apply of
// the same directory is one pass that touches nothing.
func TestApplyThroughTheLoop(t *testing.T) {
	t.Parallel()
	n := newNode(t, 15)
	dir := filepath.Join(n.dir, "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 2}
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(a.yaml()), 0o644); err != nil {
		t.Fatal(err)
	}
	apply := func() string {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := exec.Command(berthBin, append(append([]string{"apply"}, n.flags()...), "--timeout", "90s", dir)...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("berth apply: %v\n%s%s", err, out.String(), errb.String())
		}
		return out.String()
	}
	first := apply()
	if !strings.HasSuffix(first, "pods ready 2/2, 0 actions\nconverged\n") || !strings.Contains(first, "pods ready 0/2") {
		t.Fatalf("first apply printed:\n%s\nwant its passes from 0/2 to 2/2 ready, then converged", first)
	}
	if second := apply(); second != "pods ready 2/2, 0 actions\nconverged\n" {
		t.Fatalf("second apply printed:\n%s\nwant one pass with nothing to do", second)
	}
}
