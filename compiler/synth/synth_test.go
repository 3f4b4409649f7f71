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

// TestTeamShape: the one-namespace shape compiles without errors and
// holds the objects it promises.
func TestTeamShape(t *testing.T) {
	team := synth.ForObjects(1000)
	if team.Objects() != 1000 || team.Apps != 200 || team.Nodes != 10 {
		t.Fatalf("shape %+v has %d objects", team, team.Objects())
	}
	dir := t.TempDir()
	if err := synth.WriteFiles(dir, team.Files()); err != nil {
		t.Fatal(err)
	}
	docs, ds := load.Load([]string{dir}, load.Options{})
	if errs, _ := diag.Count(ds); errs > 0 {
		t.Fatal(diag.List(ds))
	}
	if len(docs) != team.Objects() {
		t.Errorf("%d documents, want %d", len(docs), team.Objects())
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
	if pods != team.Pods() || len(p.Services) != team.Services() || len(p.Nodes) != team.Nodes ||
		len(p.ConfigMaps) != team.Apps || len(p.Secrets) != team.Apps || len(p.Workloads) != team.Apps+team.Jobs+team.CronJobs {
		t.Errorf("got %d pods, %d services, %d nodes, %d configmaps, %d secrets, %d workloads; want %+v",
			pods, len(p.Services), len(p.Nodes), len(p.ConfigMaps), len(p.Secrets), len(p.Workloads), team)
	}
	for _, s := range p.Services {
		if s.Namespace != "default" {
			t.Fatalf("service %s is not in namespace default", s.Key())
		}
	}
}
