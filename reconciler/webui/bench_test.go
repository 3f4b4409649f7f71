package webui

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/synth"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/gitops"
	"berth.dev/berth/reconciler/nodeapi"
	"berth.dev/berth/reconciler/source"
)

// bigFleet is synth's 10,000-pod repository (900 Deployments, 250 Jobs, 5
// DaemonSets: 1,155 workloads; 1,000 Services; 100 nodes) as node-000 of
// it sees it: its 100 pods running, 200 events, 50 revisions of history
// each with a diff, every other node answering. Built once.
var bigFleet = sync.OnceValues(func() (*fixture, error) {
	dir, err := os.MkdirTemp("", "berth-webui-bench-")
	if err != nil {
		return nil, err
	}
	if err := synth.Write(dir, synth.For(10_000)); err != nil {
		return nil, err
	}
	var tb testing.B
	p := compileDir(&tb, dir, "c0ffee0000000000000000000000000000000000")
	if p == nil {
		return nil, fmt.Errorf("compile the synthetic repository")
	}
	const node = "node-000"
	st := running(p, node)
	d := reconciler.DesiredFor(p, node)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var events []reconciler.Event
	for i := range 200 {
		w := p.Workloads[i%len(p.Workloads)]
		events = append(events, reconciler.Event{Time: now.Add(time.Duration(i) * time.Second), Object: w.Key(), Action: "create",
			Target: w.Namespace + "/" + w.Name + "-x", Reason: "rolling update", Result: "ok"})
	}
	// 50 revisions through the loop: the first creates everything (a
	// 10,000-pod diff, kept to its first 2,000 changes), the others
	// change the plan's revision only.
	hist := gitops.NewHistory("", nil)
	src := &oneRev{}
	l := gitops.New(gitops.Options{Source: src, Apply: noApply{}, History: hist,
		Compile: func(_ context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic) {
			q := *p
			q.Revision = rev.ID
			return &q, nil
		}})
	for i := range 50 {
		src.rev = source.Revision{ID: fmt.Sprintf("%040d", i), Message: "change", Author: "Ada", Time: now}
		l.Step(context.Background(), true)
	}
	var cluster []nodeapi.NodeSummary
	for _, n := range p.Nodes {
		cluster = append(cluster, nodeapi.NodeSummary{Node: n.Node.Name, Answers: true, Applied: p.Revision, Ready: len(n.Pods), Total: len(n.Pods), Converged: true})
	}
	routes := reconciler.Routes(d, st, reconciler.State{}, nil)
	loop := &fakeLoop{plan: p, history: hist, status: gitops.Status{Applied: p.Revision, Head: p.Revision}}
	u, err := New(Options{Node: node, Loop: loop, Pods: &fakePods{state: st, log: "ok\n"},
		Status: func() (reconciler.Status, bool) {
			// What Reconciler.Status does on every request.
			s := reconciler.Summarize(d, st, reconciler.State{}, now)
			s.Events = events
			return s, true
		},
		Routes:   func() []nodes.ServiceRoute { return routes },
		Cluster:  func() []nodeapi.NodeSummary { return cluster },
		Snapshot: func(string) (string, bool) { return dir, true }})
	if err != nil {
		return nil, err
	}
	return &fixture{ui: u, loop: loop, h: u}, nil
})

// BenchmarkPages1k renders each page of a node of a 1,155-workload,
// 10,000-pod fleet, as the daemon serves it (status summarized per
// request). The README's web view figure.
func BenchmarkPages1k(b *testing.B) {
	f, err := bigFleet()
	if err != nil {
		b.Fatal(err)
	}
	p := f.loop.plan
	var local plan.Pod
	for _, np := range p.Nodes {
		if np.Node.Name == "node-000" {
			local = np.Pods[0]
		}
	}
	w := p.Workloads[len(p.Workloads)/2]
	for _, path := range []string{
		"/ui/",
		"/ui/history",
		"/ui/workloads",
		"/ui/workloads?page=20",
		"/ui/workloads?ns=team-042&label=tier%3Dweb",
		"/ui/workloads/" + w.Kind + "/" + w.Namespace + "/" + w.Name,
		"/ui/pods/" + local.Namespace + "/" + local.Name,
		"/ui/services",
		"/ui/revisions/" + fmt.Sprintf("%040d", 0),
		"/ui/revisions/" + fmt.Sprintf("%040d", 49),
		"/ui/plan",
	} {
		b.Run(path, func(b *testing.B) {
			f.get(b, path) // the first pod page indexes the sources once
			b.ReportAllocs()
			for b.Loop() {
				if code, body := f.get(b, path); code != 200 {
					b.Fatalf("%s: %d %s", path, code, body)
				}
			}
		})
	}
	b.Run("live fingerprint", func(b *testing.B) {
		for b.Loop() {
			f.ui.fingerprint()
		}
	})
}
