package daemon

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/compiler/disruption"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler"
)

// budgetHealthy counts the ready pods of pods per budget of set, by
// budget key (what this node tells the others).
func budgetHealthy(set *disruption.Set, pods []reconciler.PodReady) map[string]int {
	out := map[string]int{}
	for i := range pods {
		if !pods[i].Ready {
			continue
		}
		for _, b := range set.Covering(pods[i].Namespace, pods[i].Labels) {
			out[set.Budgets[b].Key()]++
		}
	}
	return out
}

// holdMoves decides which of this node's pods the new plan p runs on
// another node (this node drained, leaving the inventory, or a new
// placement) keep running here for now: each goes as the eviction API
// would let it go, by the budgets of p over the healthy pods of the
// whole cluster (this node's, from local, and the others', from peers:
// each reachable node's ready pods per budget key). A pod selected by
// no budget goes at once; one selected by more than one never goes
// (the eviction API refuses it). prev is this node's part as it runs
// it now. It returns the pods held, sorted, one line per hold, and the
// pods of a budget that may go now.
func holdMoves(self string, prev []plan.Pod, p *plan.Plan, local []reconciler.PodReady, peers map[string]map[string]int) (held []plan.Pod, notes []string, goes []plan.Pod) {
	if len(prev) == 0 || len(p.DisruptionBudgets) == 0 {
		return nil, nil, nil
	}
	here, elsewhere := map[string]bool{}, map[string]bool{}
	for i := range p.Nodes {
		for j := range p.Nodes[i].Pods {
			if p.Nodes[i].Node.Name == self {
				here[p.Nodes[i].Pods[j].Key()] = true
			} else {
				elsewhere[p.Nodes[i].Pods[j].Key()] = true
			}
		}
	}
	running := map[string]*reconciler.PodReady{}
	for i := range local {
		running[local[i].Key()] = &local[i]
	}
	set := disruption.NewSet(p.DisruptionBudgets)
	healthy := budgetHealthy(set, local)
	for n, counts := range peers {
		if n == self || !inventoryHas(p, n) {
			continue
		}
		for k, c := range counts {
			healthy[k] += c
		}
	}
	for i := range prev {
		pod := &prev[i]
		r := running[pod.Key()]
		if here[pod.Key()] || !elsewhere[pod.Key()] || r == nil {
			continue // stays, is deleted (not a move), or is gone already
		}
		cover := set.Covering(pod.Namespace, r.Labels)
		switch {
		case len(cover) == 0:
			continue
		case len(cover) > 1:
			var names []string
			for _, b := range cover {
				names = append(names, set.Budgets[b].Key())
			}
			held = append(held, *pod)
			notes = append(notes, fmt.Sprintf("pod %s stays: more than one PodDisruptionBudget selects it (%s), which the eviction API refuses", pod.Key(), strings.Join(names, ", ")))
			continue
		}
		b := &set.Budgets[cover[0]]
		if disruption.MayStop(b, healthy[b.Key()], r.Ready) {
			goes = append(goes, *pod)
			if r.Ready {
				healthy[b.Key()]--
			}
			continue
		}
		held = append(held, *pod)
		notes = append(notes, fmt.Sprintf("pod %s stays until a replacement is ready elsewhere: PodDisruptionBudget %s has %d healthy of %d wanted (%d expected), 0 disruptions allowed",
			pod.Key(), b.Key(), healthy[b.Key()], b.DesiredHealthy, b.ExpectedPods))
	}
	sortPods(held)
	return held, notes, goes
}

func sortPods(pods []plan.Pod) {
	slices.SortFunc(pods, func(a, b plan.Pod) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
}

func inventoryHas(p *plan.Plan, node string) bool {
	return slices.ContainsFunc(p.Nodes, func(n plan.NodePlan) bool { return n.Node.Name == node })
}

// withHeld is p with held added to node's part (a copy: p is the loop's).
func withHeld(p *plan.Plan, node string, held []plan.Pod) *plan.Plan {
	if len(held) == 0 {
		return p
	}
	cp := *p
	cp.Nodes = slices.Clone(p.Nodes)
	for i := range cp.Nodes {
		if cp.Nodes[i].Node.Name != node {
			continue
		}
		pods := append(slices.Clone(cp.Nodes[i].Pods), held...)
		sortPods(pods)
		cp.Nodes[i].Pods = pods
	}
	return &cp
}
