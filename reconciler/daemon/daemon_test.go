package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/source"
	"berth.dev/berth/reconciler/store"
)

func TestCompileReportsRepositoryPaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: example/web:1\n      containerPorts: [8000]\n"
	if err := os.WriteFile(filepath.Join(dir, "apps", "web.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := NewCompiler(&Config{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	p, diags := c.Compile(context.Background(), source.Revision{ID: "abc", Dir: dir})
	if p != nil {
		t.Fatal("a revision with errors compiled into a plan")
	}
	if len(diags) == 0 || !strings.HasPrefix(diags[0].String(), "apps/web.yaml:9:7: error:") {
		t.Fatalf("diagnostics = %v, want the first at apps/web.yaml:9:7", diags)
	}

	good := strings.Replace(bad, "containerPorts: [8000]", "ports: [{containerPort: 8000}]", 1)
	os.WriteFile(filepath.Join(dir, "apps", "web.yaml"), []byte(good), 0o644)
	p, diags = c.Compile(context.Background(), source.Revision{ID: "def", Dir: dir})
	if p == nil {
		t.Fatalf("good revision did not compile: %v", diags)
	}
	if p.Revision != "def" || len(p.Nodes) != 1 || p.Nodes[0].Node.Name != "n1" {
		t.Fatalf("plan revision %q nodes %+v, want def on the implicit node n1", p.Revision, p.Nodes)
	}
}

func TestNodePlan(t *testing.T) {
	p := &plan.Plan{Nodes: []plan.NodePlan{{Node: plan.Node{Name: "a"}}, {Node: plan.Node{Name: "b"}}}}
	if np, err := p.NodePlan("b"); err != nil || np.Node.Name != "b" {
		t.Fatalf("NodePlan(b) = %v, %v", np, err)
	}
	if _, err := p.NodePlan("c"); err == nil || !strings.Contains(err.Error(), "(nodes: a, b)") {
		t.Fatalf("NodePlan(c) err = %v, want the inventory listed", err)
	}
}

func TestMachineCapacity(t *testing.T) {
	c := MachineCapacity()
	if c.MilliCPU < 1000 || c.Pods != 110 {
		t.Fatalf("capacity %+v", c)
	}
	if _, err := os.Stat("/proc/meminfo"); err == nil && c.Memory <= 0 {
		t.Fatalf("memory not read: %+v", c)
	}
}

// TestDamagedStateStore: without --reset-state a damaged store stops the
// start and stays where it is; with it, it is moved aside and an empty
// store takes its place.
func TestDamagedStateStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, store.FileName)
	if err := os.WriteFile(db, []byte("not a bbolt file, not at all, and long enough to be read as one"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{StateDir: dir, Logger: slog.New(slog.DiscardHandler)}
	err := checkStateStore(cfg)
	if !errors.As(err, new(*store.CorruptError)) {
		t.Fatalf("checkStateStore = %v, want a CorruptError", err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("the damaged store is gone: %v", err)
	}
	cfg.ResetState = true
	if err := checkStateStore(cfg); err != nil {
		t.Fatal(err)
	}
	aside, _ := filepath.Glob(db + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("moved aside: %v, want one reconciler.db.corrupt-<time>", aside)
	}
	if err := checkStateStore(&Config{StateDir: dir, Logger: cfg.Logger}); err != nil {
		t.Errorf("the new store does not open: %v", err)
	}
}
