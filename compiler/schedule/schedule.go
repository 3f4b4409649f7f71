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
// two-level rendezvous hashing: every node belongs to one of 64 buckets
// by a hash of its name; the buckets are ranked by a hash of (group,
// bucket), and the eligible nodes within a bucket by a hash of (group,
// node name). Replica i tries the ranked nodes starting at position
// i mod n, and takes the first one with room for its requests (cpu,
// memory, pods). The ranking is built lazily, a bucket at a time, so a
// group of a few replicas costs 64 bucket scores and the scores of one
// bucket's nodes, not a score and a sort of every node: the schedule
// grows with the pods, not with pods times nodes. The eligible nodes of
// each distinct constraint are found once, through an index of the nodes
// by label.
//
// # Keeping it linear
//
// Placing one pod reads its group's ranking and the nodes' usage; it
// never looks at the other pods. Constraints that depend on other pods
// (inter-pod affinity, topology spread) must keep that shape: count the
// placed pods per (topology domain, selector) as take records them, and
// read those counts, rather than scan the pods placed so far.
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
	el := newEligibility(ns)
	var r *ranking
	group := "\x00"
	for _, i := range order {
		p := &pods[i]
		if p.Group != group {
			group = p.Group
			r = newRanking(p.Group, el.of(p))
		}
		placed := false
		for k := range r.n {
			n := r.at((p.Index + k) % r.n)
			if n.fits(p.Requests) == "" {
				n.take(p.Requests)
				out[i] = n.Name
				placed = true
				break
			}
		}
		if !placed {
			diags = append(diags, unschedulable(p, ns))
		}
	}
	return out, diags
}

// bucketCount is the number of first-level buckets of the ranking. It is
// fixed: a node's bucket must not depend on the other nodes.
const bucketCount = 64

// fnv64a hashes the bytes of s into h (FNV-1a), without allocating.
func fnv64a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

const fnvOffset = 14695981039346656037

// eligible is the nodes a group may use, by bucket, sorted by name.
type eligible struct {
	buckets [bucketCount][]*node
	n       int
}

// eligibility caches the eligible nodes of each distinct nodeSelector
// and volume affinity: repositories have few of them, and a group must
// not pay a pass over every node. A nodeSelector's candidates come from
// an index of the nodes by label, so even a selector per group (pinning
// by kubernetes.io/hostname) costs the nodes it names, not the
// inventory.
type eligibility struct {
	nodes   []*node
	byLabel map[string]map[string][]*node // key -> value -> nodes, by name
	cache   map[string]*eligible
}

func newEligibility(ns []*node) *eligibility {
	e := &eligibility{nodes: ns, byLabel: map[string]map[string][]*node{}, cache: map[string]*eligible{}}
	for _, n := range ns { // sorted by name
		for k, v := range n.Labels {
			vals := e.byLabel[k]
			if vals == nil {
				vals = map[string][]*node{}
				e.byLabel[k] = vals
			}
			vals[v] = append(vals[v], n)
		}
	}
	return e
}

func (e *eligibility) of(p *expand.Pod) *eligible {
	sel := selector.FromMap(p.NodeSelector)
	key := sel.String() + "\x00" + strings.Join(p.AffinityText, "\x00")
	if el, ok := e.cache[key]; ok {
		return el
	}
	el := &eligible{}
	for _, n := range e.candidates(p.NodeSelector) { // sorted by name
		if sel.Matches(n.Labels) && unmatchedAffinity(p.Affinity, n.Labels) < 0 {
			b := fnv64a(fnvOffset, n.Name) % bucketCount
			el.buckets[b] = append(el.buckets[b], n)
			el.n++
		}
	}
	e.cache[key] = el
	return el
}

// candidates are the nodes that carry the rarest label of a nodeSelector
// (every node without one), in name order: a superset of its matches.
func (e *eligibility) candidates(sel map[string]string) []*node {
	if len(sel) == 0 {
		return e.nodes
	}
	var best []*node
	first := true
	for k, v := range sel {
		if list := e.byLabel[k][v]; first || len(list) < len(best) {
			best, first = list, false
		}
	}
	return best
}

// ranking is a group's eligible nodes, best first, built a bucket at a
// time as at asks for them.
type ranking struct {
	el     *eligible
	seed   uint64 // the hash state after the group's identity
	order  []int  // buckets, best first
	next   int    // the next bucket of order to expand
	ranked []*node
	n      int
}

func newRanking(group string, el *eligible) *ranking {
	r := &ranking{el: el, seed: fnv64a(fnv64a(fnvOffset, group), "\x00"), n: el.n}
	type scored struct {
		b     int
		score uint64
	}
	var bs [bucketCount]scored
	for b := range bucketCount {
		// "\xff" never occurs in a node name: a bucket's score is
		// never a node's.
		bs[b] = scored{b, fnv64a(r.seed, string([]byte{0xff, byte(b)}))}
	}
	slices.SortFunc(bs[:], func(a, b scored) int { return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.b, b.b)) })
	r.order = make([]int, 0, bucketCount)
	for _, s := range bs {
		if len(el.buckets[s.b]) > 0 {
			r.order = append(r.order, s.b)
		}
	}
	return r
}

// at is the i-th best eligible node (i < n).
func (r *ranking) at(i int) *node {
	for len(r.ranked) <= i && r.next < len(r.order) {
		type scored struct {
			n     *node
			score uint64
		}
		nodes := r.el.buckets[r.order[r.next]]
		r.next++
		sc := make([]scored, len(nodes))
		for j, n := range nodes {
			sc[j] = scored{n, fnv64a(r.seed, n.Name)}
		}
		slices.SortFunc(sc, func(a, b scored) int {
			return cmp.Or(cmp.Compare(b.score, a.score), strings.Compare(a.n.Name, b.n.Name))
		})
		for _, s := range sc {
			r.ranked = append(r.ranked, s.n)
		}
	}
	return r.ranked[i]
}

// why is the reason node n is not eligible for p, or "".
func why(n *node, p *expand.Pod) string {
	sel := selector.FromMap(p.NodeSelector)
	if !sel.Matches(n.Labels) {
		return "does not match nodeSelector " + sel.String()
	}
	if i := unmatchedAffinity(p.Affinity, n.Labels); i >= 0 {
		return "is not where " + p.AffinityText[i]
	}
	return ""
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

// maxNamed is how many nodes an unschedulable pod's message names one
// by one. Past it the nodes are counted by reason, with the first node
// of each as the example (the Kubernetes scheduler's "0/100 nodes are
// available: 60 Insufficient cpu, ..."), so that a repository that runs
// out of capacity gets messages the size of its reasons, not of its
// inventory.
const maxNamed = 5

func unschedulable(p *expand.Pod, ns []*node) diag.Diagnostic {
	reason := func(n *node) string {
		if r := why(n, p); r != "" {
			return r
		}
		return n.fits(p.Requests)
	}
	var reasons []string
	switch {
	case len(ns) == 0:
		reasons = append(reasons, "the inventory has no nodes")
	case len(ns) <= maxNamed:
		for _, n := range ns {
			reasons = append(reasons, "node "+n.Name+" "+reason(n))
		}
	default:
		type group struct {
			count   int
			example string
		}
		groups := map[string]*group{}
		var order []string
		for _, n := range ns {
			r := reason(n)
			kind := reasonKind(r)
			g := groups[kind]
			if g == nil {
				g = &group{example: "node " + n.Name + ": " + r}
				groups[kind] = g
				order = append(order, kind)
			}
			g.count++
		}
		slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(groups[b].count, groups[a].count) })
		for _, k := range order {
			reasons = append(reasons, fmt.Sprintf("%d as %s", groups[k].count, groups[k].example))
		}
		reasons[0] = fmt.Sprintf("of %d nodes, %s", len(ns), reasons[0])
	}
	return p.Object.Diag(diag.Error, RuleUnschedulable, p.Path, "pod %s fits no node: %s", p.Pod.Key(), strings.Join(reasons, "; "))
}

// reasonKind is what nodes that fail for the same reason have in common:
// the resource they lack, or the selector or affinity they do not match.
func reasonKind(r string) string {
	for _, prefix := range []string{"already holds", "insufficient cpu", "insufficient memory"} {
		if strings.HasPrefix(r, prefix) {
			return prefix
		}
	}
	return r
}
