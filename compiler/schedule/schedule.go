// Package schedule places pods on the nodes of the inventory, the way
// every node and CI compute it identically: a pure function of the
// repository.
//
// # The algorithm
//
// DaemonSet pods are pinned to their node first, regardless of capacity
// (as upstream does). Every other pod belongs to a group (its controller)
// and is placed in the order of (priority, group, replica index): higher
// priorities first, groups sorted by kind/namespace/name. For a group, the eligible nodes (nodeSelector, and
// the node affinity of every bound PersistentVolume) are ranked by
// rendezvous hashing: the score of a node is a hash of (group, node name).
// Replica i tries the ranked nodes starting at position i mod n, and
// takes the first one with room for its requests (cpu, memory, pods).
//
// # What this buys, and its limits
//
// A group's ranking depends only on its own identity and the node names,
// never on other workloads: adding, removing or changing one Deployment
// leaves every other pod where it was, as long as capacity does not run
// out. Replicas spread over the ranked nodes round-robin, and groups
// start on different nodes, so load spreads too. Adding a node moves
// only the replicas whose ranking it enters ahead of their node
// (rendezvous hashing's minimal disruption).
//
// Capacity couples workloads: when a node is full, a pod goes to its next
// ranked node, so a group that grows can push the replicas of groups
// sorted after it onto other nodes. Nodes with headroom avoid that; the
// plan diff shows any such move before it happens. Pods do not move to
// balance load after the fact: placement is greedy, not optimal.
package schedule

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/expand"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/selector"
)

// RuleUnschedulable is the rule of a pod that fits no node.
const RuleUnschedulable = "unschedulable"

type node struct {
	plan.Node
	used plan.Resources
}

// fits returns "" when r fits on n, or why it does not.
func (n *node) fits(r plan.Resources) string {
	c := n.Capacity
	switch {
	case c.Pods > 0 && n.used.Pods+r.Pods > c.Pods:
		return fmt.Sprintf("already holds %d of %d pods", n.used.Pods, c.Pods)
	case c.MilliCPU > 0 && n.used.MilliCPU+r.MilliCPU > c.MilliCPU:
		return fmt.Sprintf("insufficient cpu (needs %dm, %dm free of %dm)", r.MilliCPU, c.MilliCPU-n.used.MilliCPU, c.MilliCPU)
	case c.Memory > 0 && n.used.Memory+r.Memory > c.Memory:
		return fmt.Sprintf("insufficient memory (needs %s, %s free of %s)", bytes(r.Memory), bytes(c.Memory-n.used.Memory), bytes(c.Memory))
	}
	return ""
}

func (n *node) take(r plan.Resources) {
	n.used.MilliCPU += r.MilliCPU
	n.used.Memory += r.Memory
	n.used.Pods += r.Pods
}

func bytes(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGi", b>>30)
	case b >= 1<<20:
		return fmt.Sprintf("%dMi", b>>20)
	}
	return fmt.Sprintf("%d", b)
}

// Place assigns a node to every pod: the result holds the node name for
// each pod of pods (by index), "" for a pod that fits nowhere, which also
// gets a diagnostic saying why for each node.
func Place(nodes []plan.Node, pods []expand.Pod) ([]string, []diag.Diagnostic) {
	ns := make([]*node, len(nodes))
	byName := make(map[string]*node, len(nodes))
	for i := range nodes {
		ns[i] = &node{Node: nodes[i]}
		byName[nodes[i].Name] = ns[i]
	}
	out := make([]string, len(pods))
	order := make([]int, 0, len(pods))
	for i := range pods {
		if p := &pods[i]; p.Pin != "" {
			if n := byName[p.Pin]; n != nil {
				n.take(p.Requests)
				out[i] = p.Pin
			}
			continue
		}
		order = append(order, i)
	}
	// Higher priorities first, as the scheduler's queue takes them: when
	// the nodes cannot hold every pod, the ones left out are those of the
	// lowest priority (where Kubernetes would preempt them; berth has no
	// pending pods, so the plan names them as fitting nowhere).
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(pods[b].Priority, pods[a].Priority), strings.Compare(pods[a].Group, pods[b].Group), cmp.Compare(pods[a].Index, pods[b].Index))
	})

	var diags []diag.Diagnostic
	var ranked []*node
	var why map[string]string // ineligible nodes of the current group
	group := "\x00"
	for _, i := range order {
		p := &pods[i]
		if p.Group != group {
			group = p.Group
			ranked, why = rank(ns, p)
		}
		placed := false
		for k := range ranked {
			n := ranked[(p.Index+k)%len(ranked)]
			if n.fits(p.Requests) == "" {
				n.take(p.Requests)
				out[i] = n.Name
				placed = true
				break
			}
		}
		if !placed {
			diags = append(diags, unschedulable(p, ns, why))
		}
	}
	return out, diags
}

// rank returns the nodes eligible for p's group, best first, and the
// reason each other node is not eligible.
func rank(ns []*node, p *expand.Pod) ([]*node, map[string]string) {
	sel := selector.FromMap(p.NodeSelector)
	why := map[string]string{}
	type scored struct {
		n     *node
		score uint64
	}
	var el []scored
	for _, n := range ns {
		if !sel.Matches(n.Labels) {
			why[n.Name] = "does not match nodeSelector " + sel.String()
			continue
		}
		if i := unmatchedAffinity(p.Affinity, n.Labels); i >= 0 {
			why[n.Name] = "is not where " + p.AffinityText[i]
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(p.Group))
		h.Write([]byte{0})
		h.Write([]byte(n.Name))
		el = append(el, scored{n, h.Sum64()})
	}
	slices.SortFunc(el, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), strings.Compare(a.n.Name, b.n.Name))
	})
	out := make([]*node, len(el))
	for i, s := range el {
		out[i] = s.n
	}
	return out, why
}

// unmatchedAffinity is the index of the first volume affinity labels do
// not satisfy, or -1.
func unmatchedAffinity(aff [][]selector.Selector, labels map[string]string) int {
	for i, terms := range aff {
		ok := false
		for _, t := range terms {
			if t.Matches(labels) {
				ok = true
				break
			}
		}
		if !ok {
			return i
		}
	}
	return -1
}

func unschedulable(p *expand.Pod, ns []*node, why map[string]string) diag.Diagnostic {
	var reasons []string
	for _, n := range ns {
		r, ok := why[n.Name]
		if !ok {
			r = n.fits(p.Requests)
		}
		reasons = append(reasons, "node "+n.Name+" "+r)
	}
	if len(ns) == 0 {
		reasons = append(reasons, "the inventory has no nodes")
	}
	return p.Object.Diag(diag.Error, RuleUnschedulable, p.Path, "pod %s fits no node: %s", p.Pod.Key(), strings.Join(reasons, "; "))
}
