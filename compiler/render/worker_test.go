package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"berth.dev/berth/compiler/budget"
)

// TestWorkerConfined: the render worker reads only the directories its
// parent names, whatever a request asks, where the kernel has Landlock.
func TestWorkerConfined(t *testing.T) {
	allowed, other := t.TempDir(), t.TempDir()
	for _, d := range []string{allowed, other} {
		if err := os.WriteFile(filepath.Join(d, "Chart.yaml"), []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := newWorker(context.Background(), budget.Limits{}, []string{allowed})
	defer w.close()
	resp, err := w.run(request{Chart: &chartRequest{Dir: allowed}})
	if err != nil || resp.Chart.LoadErr != "" || resp.Chart.Name != "c" {
		t.Fatalf("allowed: %v %+v", err, resp.Chart)
	}
	resp, err = w.run(request{Chart: &chartRequest{Dir: other}})
	if err != nil {
		t.Fatal(err)
	}
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 || abi < 1 {
		t.Logf("no Landlock on this kernel: the worker is not confined (load error %q)", resp.Chart.LoadErr)
		return
	}
	if !strings.Contains(resp.Chart.LoadErr, "permission denied") {
		t.Errorf("a directory the parent did not name was read: %+v", resp.Chart)
	}
}
