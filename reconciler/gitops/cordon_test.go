package gitops

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/fleet"
	"berth.dev/berth/reconciler/source"
)

// planApplier records the plans applied.
type planApplier struct{ plans []*plan.Plan }

func (a *planApplier) Apply(_ context.Context, p *plan.Plan) error {
	a.plans = append(a.plans, p)
	return nil
}

// unschedulable are the nodes of the plan applied last that are drained.
func (a *planApplier) unschedulable() []string {
	var out []string
	if len(a.plans) == 0 {
		return nil
	}
	for _, n := range a.plans[len(a.plans)-1].Nodes {
		if n.Node.Unschedulable {
			out = append(out, n.Node.Name)
		}
	}
	return out
}

// TestDrainRecompiles: berth node drain marks the node on every node;
// the plan is compiled again with it unschedulable, the mark survives a
// restart, and a newer mark from another node (uncordon) wins.
func TestDrainRecompiles(t *testing.T) {
	dir := t.TempDir()
	src := &snapSource{fakeSource: fakeSource{head: "r1"}}
	x := &exchange{peers: map[string]fleet.Facts{}}
	app := &planApplier{}
	var l *Loop
	compile := func(_ context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic) {
		p := &plan.Plan{FormatVersion: plan.FormatVersion, Revision: rev.ID,
			Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}}, {Node: plan.Node{Name: "n2"}}}}
		for i := range p.Nodes {
			p.Nodes[i].Node.Unschedulable = slices.Contains(l.Drained(), p.Nodes[i].Node.Name)
		}
		return p, nil
	}
	newLoop := func() {
		l = New(Options{Source: src, Compile: compile, Apply: app, StateDir: dir, Node: "n1", Fleet: x, Metrics: NewMetrics(prometheus.NewRegistry())})
		l.restore()
	}
	step := func() {
		t.Helper()
		l.Step(context.Background(), true)
		if l.decide() {
			l.applyGood(context.Background())
		}
	}
	newLoop()
	step()
	if got := app.unschedulable(); len(got) != 0 {
		t.Fatalf("drained before any drain: %v", got)
	}
	if err := l.Drain("n9"); !errors.Is(err, ErrNode) {
		t.Fatalf("drain of a node not in the inventory: %v", err)
	}
	if err := l.Drain("n2"); err != nil {
		t.Fatal(err)
	}
	step()
	step()
	if got := app.unschedulable(); !slices.Equal(got, []string{"n2"}) {
		t.Fatalf("plan after drain has %v unschedulable, want [n2]", got)
	}
	if s := l.Status(); !slices.Equal(s.Drained, []string{"n2"}) || len(x.pub.Cordons) != 1 || !x.pub.Cordons[0].Drained {
		t.Fatalf("status drained %v, published %+v", s.Drained, x.pub.Cordons)
	}

	// A restarted daemon keeps the mark.
	newLoop()
	if s := l.Status(); !slices.Equal(s.Drained, []string{"n2"}) {
		t.Fatalf("after restart drained = %v", s.Drained)
	}

	// n2 takes berth node uncordon n2: a newer mark, adopted here.
	x.set("n2", fleet.Facts{Cordons: []fleet.Cordon{{Node: "n2", Version: 2, Origin: "n2"}}})
	step()
	step()
	if got := app.unschedulable(); len(got) != 0 {
		t.Fatalf("plan after uncordon has %v unschedulable", got)
	}
	if s := l.Status(); len(s.Drained) != 0 || x.pub.Cordons[0].Version != 2 {
		t.Fatalf("status drained %v, published %+v", s.Drained, x.pub.Cordons)
	}
}
