package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/nodes/fake"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/source"
	"berth.dev/berth/reconciler/store"
)

// TestImmutableAgainstTheLastApplied: the daemon compiles a revision
// against the plan its node applied last, from its state store (so also
// after a restart): a changed immutable ConfigMap refuses the revision,
// with the API server's reason at the changed field.
func TestImmutableAgainstTheLastApplied(t *testing.T) {
	write := func(dir, data string) {
		t.Helper()
		cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\nimmutable: true\ndata: {" + data + "}\n"
		if err := os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte(cm), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	state := t.TempDir()
	cfg := &Config{Node: "n1", StateDir: state}
	comp, err := NewCompiler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	node := NewNode(cfg)
	comp.previous = node.LastApplied

	v1 := t.TempDir()
	write(v1, "mode: fast")
	p, diags := comp.Compile(context.Background(), source.Revision{ID: "r1", Dir: v1})
	if p == nil || len(p.ConfigMaps) != 1 || !p.ConfigMaps[0].Immutable {
		t.Fatalf("r1: %v %v", p, diags)
	}
	// The node applies r1: its reconciler records the plan in the store.
	db, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	rec := reconciler.New(reconciler.Options{Runtime: fake.New(fake.NewClock(time.Now())), Router: &fake.Router{}, Store: db, Node: "n1"})
	if _, err := rec.Reconcile(context.Background(), p, ""); err != nil {
		t.Fatal(err)
	}
	db.Close()

	v2 := t.TempDir()
	write(v2, "mode: slow")
	p2, diags := comp.Compile(context.Background(), source.Revision{ID: "r2", Dir: v2})
	if p2 != nil {
		t.Fatalf("r2 changes an immutable ConfigMap and compiled")
	}
	if len(diags) != 1 || diags[0].Severity != diag.Error || diags[0].String() != "cm.yaml:5:7: error: data: Forbidden: field is immutable when `immutable` is set: the revision applied before made ConfigMap default/settings immutable, and the API server refuses to change it; give the changed one a new name (and point its users at it), or delete it in one commit and add it again in the next" {
		t.Fatalf("r2: %v", diags)
	}
	write(v2, "mode: fast")
	if p3, diags := comp.Compile(context.Background(), source.Revision{ID: "r3", Dir: v2}); p3 == nil || strings.Contains(diag.List(diags).Error(), "immutable") {
		t.Fatalf("r3 keeps the content: %v", diags)
	}
}
