package disruption

import (
	"fmt"
	"testing"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// benchPlan is n workloads of 10 pods in one namespace, spread over 50
// nodes, each workload with its budget (the shape of a chart that ships
// a PodDisruptionBudget per Deployment), and a set holding the budgets.
func benchPlan(n int) (*object.Set, *plan.Plan) {
	p := &plan.Plan{Nodes: make([]plan.NodePlan, 50)}
	var objs []*object.Object
	for w := range n {
		app := fmt.Sprintf("app-%d", w)
		for i := range 10 {
			node := &p.Nodes[(w*10+i)%50]
			node.Pods = append(node.Pods, plan.Pod{Namespace: "default", Name: fmt.Sprintf("%s-%d", app, i),
				Labels: map[string]string{"app": app, "tier": "web", "pod-template-hash": "abc"}, Owner: plan.Owner{Kind: "Deployment", Name: app}})
		}
		min := api.FromInt(8)
		objs = append(objs, &object.Object{Kind: "PodDisruptionBudget", APIVersion: "policy/v1", Namespace: "default", Name: app, Doc: &load.Document{File: "pdb.yaml", Index: w},
			Value: &api.PodDisruptionBudget{Spec: api.PodDisruptionBudgetSpec{MinAvailable: &min,
				Selector: &api.LabelSelector{MatchLabels: map[string]string{"app": app}}}}})
	}
	return object.NewSet(objs), p
}

// BenchmarkBudgets counts the pods of each budget at compile: linear in
// the pods (1,000 budgets over 10,000 pods), not pods × budgets.
func BenchmarkBudgets(b *testing.B) {
	for _, n := range []int{100, 1000} {
		set, p := benchPlan(n)
		b.Run(fmt.Sprintf("budgets=%d/pods=%d", n, n*10), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bs, _ := Budgets(set, p)
				if len(bs) != n || bs[0].ExpectedPods != 10 {
					b.Fatalf("%d budgets, first expects %d", len(bs), bs[0].ExpectedPods)
				}
			}
		})
	}
}
