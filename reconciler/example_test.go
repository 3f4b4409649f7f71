package reconciler_test

import (
	"context"
	"fmt"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/fake"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/store"
)

// Example wires a reconciler: a Runtime and a Router (here the in-memory
// ones; nodes/containerd and nodes/iptables on a real node), a store under
// the state directory, and the node's name in the plan.
func Example() {
	clock := fake.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt, router := fake.New(clock), &fake.Router{}
	db := store.NewMemory() // store.Open(stateDir) on a node
	rec := reconciler.New(reconciler.Options{Runtime: rt, Router: router, Store: db, Clock: clock, Node: "n1"})

	pod := plan.Pod{Namespace: "default", Name: "hello", Hash: "h1", Owner: plan.Owner{Kind: "Pod", Name: "hello"},
		Spec: plan.PodSpec{RestartPolicy: "Always", Containers: []plan.Container{{Name: "app", Image: "busybox:1"}}}}
	p := &plan.Plan{Revision: "abc123", Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}, Pods: []plan.Pod{pod}}}}

	for i := 0; i < 2; i++ {
		res, err := rec.Reconcile(context.Background(), p, "")
		if err != nil {
			panic(err)
		}
		fmt.Printf("pass %d: %d actions, converged %v\n", i+1, len(res.Actions), res.Converged)
	}
	// Output:
	// pass 1: 1 actions, converged false
	// pass 2: 0 actions, converged true
}
