package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
)

// stubbornPlan is webPlan plus a Recreate Deployment whose one pod ignores
// SIGTERM (sleep as PID 1 has no handler), so stopping it takes its whole
// grace period.
func stubbornPlan(rev string, grace int64) *plan.Plan {
	p := webPlan(rev)
	pod := plan.Pod{Namespace: "default", Name: "stubborn-" + rev + "-0", Owner: plan.Owner{Kind: "Deployment", Name: "stubborn"},
		Revision: rev, Hash: "stubborn-" + rev,
		Spec: plan.PodSpec{RestartPolicy: "Always", TerminationGracePeriodSeconds: grace, Containers: []plan.Container{{
			Name: "app", Image: image, ImagePullPolicy: "IfNotPresent", Command: []string{"sleep", "3600"}}}}}
	p.Workloads = append(p.Workloads, plan.Workload{Kind: "Deployment", Namespace: "default", Name: "stubborn", Revision: rev,
		Replicas: 1, Strategy: plan.Strategy{Type: "Recreate"}})
	p.Nodes[0].Pods = append(p.Nodes[0].Pods, pod)
	return p
}

// TestSlowStopOnContainerd: while a pod that ignores SIGTERM uses its
// 12 s grace period, the node's other Deployment rolls to its new revision
// and serves it; the Recreate Deployment waits for its old pod to be gone.
func TestSlowStopOnContainerd(t *testing.T) {
	n := newNode(t)
	const grace = 12
	n.converge(stubbornPlan("a", grace), 90*time.Second, nil)
	p := stubbornPlan("b", grace)
	start := time.Now()
	n.until(p, 60*time.Second, "web serving b", func() bool {
		return slices.Equal(n.backendRevs("web"), []string{"b", "b"})
	})
	took := time.Since(start)
	st, err := n.rt.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var stubborn []string
	for _, pod := range st.Pods {
		if pod.Owner.Name == "stubborn" {
			stubborn = append(stubborn, pod.Name)
		}
	}
	t.Logf("web rolled in %v; stubborn pods then: %v", took, stubborn)
	if took >= grace*time.Second {
		t.Errorf("web rolled in %v: it waited for the stubborn pod's %ds grace period", took, grace)
	}
	if !slices.Equal(stubborn, []string{"stubborn-a-0"}) {
		t.Errorf("stubborn pods while the old one stops: %v, want only stubborn-a-0 (Recreate)", stubborn)
	}
	n.converge(p, 60*time.Second, nil)
	st, _ = n.rt.Observe(context.Background())
	var names []string
	for _, pod := range st.Pods {
		names = append(names, fmt.Sprintf("%s:%s", pod.Name, pod.Phase))
	}
	slices.Sort(names)
	if want := []string{"stubborn-b-0:Running", "web-b-0:Running", "web-b-1:Running"}; !slices.Equal(names, want) {
		t.Errorf("pods %v, want %v", names, want)
	}
}
