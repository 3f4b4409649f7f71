package synth_test

import (
	"testing"

	"berth.dev/berth/compiler/assemble"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/synth"
)

// TestShape: the generated repository yields the pods, services and
// nodes it promises, with no errors, so the benchmarks measure what
// their names say.
func TestShape(t *testing.T) {
	dir := t.TempDir()
	size := synth.For(1000)
	if err := synth.Write(dir, size); err != nil {
		t.Fatal(err)
	}
	docs, ds := load.Load([]string{dir}, load.Options{})
	if errs, _ := diag.Count(ds); errs > 0 {
		t.Fatal(diag.List(ds))
	}
	var objs []*object.Object
	for i := range docs {
		o, err := object.Decode(&docs[i])
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	p, ds := assemble.Plan(object.NewSet(objs), assemble.Options{})
	if errs, _ := diag.Count(ds); errs > 0 {
		t.Fatal(diag.List(ds))
	}
	pods := 0
	for _, n := range p.Nodes {
		pods += len(n.Pods)
	}
	for _, w := range p.Workloads {
		if w.Job != nil {
			pods += int(w.Job.Parallelism)
		}
	}
	if pods != size.Pods || len(p.Services) != size.Services || len(p.Nodes) != size.Nodes {
		t.Errorf("got %d pods, %d services, %d nodes; want %+v", pods, len(p.Services), len(p.Nodes), size)
	}
}
