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
	"maps"
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
	ext  map[string]int64 // extended resources in use
}

// fits returns "" when p's requests fit on n, or why they do not (the
// NodeResourcesFit plugin's reasons). It compares a request with what is
// free, never adds to used: a request of "1e31" is the largest int64,
// and a sum would wrap around and fit.
func (n *node) fits(p *expand.Pod) string {
	c, r := n.Capacity, p.Requests
	switch {
	case c.Pods > 0 && r.Pods > c.Pods-n.used.Pods:
		return fmt.Sprintf("already holds %d of %d pods", n.used.Pods, c.Pods)
	case c.MilliCPU > 0 && r.MilliCPU > c.MilliCPU-n.used.MilliCPU:
		return fmt.Sprintf("insufficient cpu (needs %dm, %dm free of %dm)", r.MilliCPU, c.MilliCPU-n.used.MilliCPU, c.MilliCPU)
	case c.Memory > 0 && r.Memory > c.Memory-n.used.Memory:
		return fmt.Sprintf("insufficient memory (needs %s, %s free of %s)", bytes(r.Memory), bytes(c.Memory-n.used.Memory), bytes(c.Memory))
	}
	// An extended resource the node does not list has capacity 0, as
	// for a kubelet without the device plugin.
	for _, name := range slices.Sorted(maps.Keys(p.Extended)) {
		want := p.Extended[name] * max(r.Pods, 1)
		if free := n.Extended[name] - n.ext[name]; want > free {
			return fmt.Sprintf("insufficient %s (needs %d, %d free of %d)", name, want, free, n.Extended[name])
		}
	}
	return ""
}

func (n *node) take(p *expand.Pod) {
	r := p.Requests
	n.used.MilliCPU += r.MilliCPU
	n.used.Memory += r.Memory
	n.used.Pods += r.Pods
	for name, v := range p.Extended {
		if n.ext == nil {
			n.ext = map[string]int64{}
		}
		n.ext[name] += v * max(r.Pods, 1)
	}
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
// gets a diagnostic saying why for each node. nss are the repository's
// Namespaces, whose labels pod affinity's namespaceSelectors read.
func Place(nodes []plan.Node, pods []expand.Pod, nss []plan.Namespace) ([]string, []diag.Diagnostic) {
	ns := make([]*node, len(nodes))
	byName := make(map[string]*node, len(nodes))
	for i := range nodes {
		ns[i] = &node{Node: nodes[i]}
		byName[nodes[i].Name] = ns[i]
	}
	// Pod affinity and topology spread read the pods placed before: the
	// index is kept only when some pod has such a term.
	var index *podIndex
	for i := range pods {
		if hasPodTerms(pods[i].Spec) {
			index = newPodIndex(namespaceLabels(nss))
			break
		}
	}
	out := make([]string, len(pods))
	order := make([]int, 0, len(pods))
	for i := range pods {
		if p := &pods[i]; p.Pin != "" {
			if n := byName[p.Pin]; n != nil {
				n.take(p)
				out[i] = p.Pin
				if index != nil {
					index.add(p.Pod.Namespace, p.Pod.Labels, n)
				}
			}
			continue
		}
		order = append(order, i)
	}
	// Higher priorities first, as the scheduler's queue takes them: when
	// the nodes cannot hold every pod, the ones left out are those of the
	// lowest priority (where Kubernetes would preempt them; berth has no
	// pending pods, so the plan names them as fitting nowhere). Within a
	// priority, groups with pod affinity or topology spread come last,
	// so that the pods they refer to are placed.
	terms := func(i int) int {
		if hasPodTerms(pods[i].Spec) {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(pods[b].Priority, pods[a].Priority), cmp.Compare(terms(a), terms(b)),
			strings.Compare(pods[a].Group, pods[b].Group), cmp.Compare(pods[a].Index, pods[b].Index))
	})

	var diags []diag.Diagnostic
	el := newEligibility(ns)
	var (
		tiers []*ranking
		gt    *groupTerms
		gerr  error
	)
	group := "\x00"
	for _, i := range order {
		p := &pods[i]
		if p.Group != group {
			group = p.Group
			tiers = tiers[:0]
			for _, e := range el.of(p) {
				tiers = append(tiers, newRanking(p.Group, e))
			}
			gt, gerr = nil, nil
			if index != nil {
				gt, gerr = newGroupTerms(p, index, ns)
			}
		}
		if gerr != nil {
			diags = append(diags, p.Object.Diag(diag.Error, RuleUnschedulable, p.Path, "pod %s: %v", p.Pod.Key(), gerr))
			continue
		}
		if n := pick(p, tiers, gt); n != nil {
			n.take(p)
			out[i] = n.Name
			if index != nil {
				index.add(p.Pod.Namespace, p.Pod.Labels, n)
				gt.placed(n)
			}
			continue
		}
		diags = append(diags, unschedulable(p, ns, gt))
	}
	return out, diags
}

// pick is the node for replica p: in the best tier of static scores
// with a node that takes it, the first such node in ranked order from
// position Index (or, when the group scores nodes against the pods
// placed, the best scored one, ties to ranked order).
func pick(p *expand.Pod, tiers []*ranking, gt *groupTerms) *node {
	scored := gt != nil && gt.scored()
	for _, r := range tiers {
		var best *node
		var bestScore int64
		for k := range r.n {
			n := r.at((p.Index + k) % r.n)
			if n.fits(p) != "" || (gt != nil && gt.refuses(n) != "") {
				continue
			}
			if !scored {
				return n
			}
			s := gt.score(n)
			if best == nil || s > bestScore {
				best, bestScore = n, s
			}
			if s >= 0 && gt.bounded() {
				break
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
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

// eligibility caches the eligible nodes of each distinct node-level
// filter (nodeSelector, node affinity, tolerations) and volume
// affinity, split into tiers of equal static score (preferred node
// affinity, PreferNoSchedule taints), best first: repositories have few
// distinct filters, and a group must not pay a pass over every node. A
// nodeSelector's candidates come from an index of the nodes by label,
// so even a distinct selector per group (pinning by
// kubernetes.io/hostname) costs the nodes it names, not the inventory.
type eligibility struct {
	nodes   []*node
	byLabel map[string]map[string][]*node // key -> value -> nodes, by name
	cache   map[string][]*eligible
}

func newEligibility(ns []*node) *eligibility {
	e := &eligibility{nodes: ns, byLabel: map[string]map[string][]*node{}, cache: map[string][]*eligible{}}
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

func (e *eligibility) of(p *expand.Pod) []*eligible {
	key := p.Fit.Key() + "\x00" + strings.Join(p.AffinityText, "\x00")
	if el, ok := e.cache[key]; ok {
		return el
	}
	byScore := map[int64]*eligible{}
	for _, n := range e.candidates(p.NodeSelector) { // sorted by name
		if p.Fit.Refuses(&n.Node) != "" || unmatchedAffinity(p.Affinity, n) >= 0 {
			continue
		}
		s := p.Fit.Score(&n.Node)
		el := byScore[s]
		if el == nil {
			el = &eligible{}
			byScore[s] = el
		}
		b := fnv64a(fnvOffset, n.Name) % bucketCount
		el.buckets[b] = append(el.buckets[b], n)
		el.n++
	}
	var tiers []*eligible
	for _, s := range slices.Backward(slices.Sorted(maps.Keys(byScore))) {
		tiers = append(tiers, byScore[s])
	}
	e.cache[key] = tiers
	return tiers
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

// why is the reason node n may not run p, or "": the first rule that
// refuses it, in the order of the scheduler's filters.
func why(n *node, p *expand.Pod, gt *groupTerms) string {
	if r := p.Fit.Refuses(&n.Node); r != "" {
		return r
	}
	if i := unmatchedAffinity(p.Affinity, n); i >= 0 {
		return "is not where " + p.AffinityText[i]
	}
	if r := n.fits(p); r != "" {
		return r
	}
	if gt != nil {
		return gt.refuses(n)
	}
	return ""
}

// unmatchedAffinity is the index of the first volume affinity n does not
// satisfy, or -1.
func unmatchedAffinity(aff [][]selector.Selector, n *node) int {
	for i, terms := range aff {
		ok := false
		for _, t := range terms {
			if t.MatchesNode(n.Name, n.Labels) {
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

// listedNodes is how many nodes an unschedulable message names one by
// one; past it, nodes are summed up by reason, as the scheduler's
// "0/N nodes are available: 60 Insufficient cpu, ..." does, so that a
// repository that runs out of capacity gets messages the size of its
// reasons, not of its inventory.
const listedNodes = 5

func unschedulable(p *expand.Pod, ns []*node, gt *groupTerms) diag.Diagnostic {
	var reasons []string
	if len(ns) <= listedNodes {
		for _, n := range ns {
			reasons = append(reasons, "node "+n.Name+" "+why(n, p, gt))
		}
	} else {
		// Nodes short of the same resource are one line even when their
		// free amounts differ: the full reason when they all say the
		// same, the resource alone otherwise.
		type tally struct {
			first, reason string
			count         int
		}
		by := map[string]*tally{}
		for _, n := range ns {
			r := why(n, p, gt)
			k := reasonKind(r)
			t := by[k]
			if t == nil {
				t = &tally{first: n.Name, reason: r}
				by[k] = t
			} else if t.reason != r {
				t.reason = k
			}
			t.count++
		}
		keys := slices.Collect(maps.Keys(by))
		slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(by[b].count, by[a].count), strings.Compare(a, b)) })
		for _, k := range keys {
			t := by[k]
			if t.count == 1 {
				reasons = append(reasons, "node "+t.first+" "+t.reason)
			} else {
				reasons = append(reasons, fmt.Sprintf("%d nodes (%s, ...): %s", t.count, t.first, t.reason))
			}
		}
	}
	if len(ns) == 0 {
		reasons = append(reasons, "the inventory has no nodes")
	}
	return p.Object.Diag(diag.Error, RuleUnschedulable, p.Path, "pod %s fits no node: %s", p.Pod.Key(), strings.Join(reasons, "; "))
}

// reasonKind is what nodes that fail for the same reason have in common:
// the resource they lack (the scheduler's "Too many pods", "Insufficient
// cpu"), or the whole reason for a rule they do not satisfy.
func reasonKind(r string) string {
	if strings.HasPrefix(r, "already holds ") {
		return "too many pods"
	}
	if rest, ok := strings.CutPrefix(r, "insufficient "); ok {
		if name, _, ok := strings.Cut(rest, " ("); ok {
			return "insufficient " + name
		}
	}
	return r
}

// namespaceLabels is a namespace's labels, from the repository's
// Namespaces, with kubernetes.io/metadata.name as the API server sets it
// on every namespace, declared or not.
func namespaceLabels(nss []plan.Namespace) func(string) map[string]string {
	byName := make(map[string]map[string]string, len(nss))
	for _, n := range nss {
		byName[n.Name] = n.Labels
	}
	return func(ns string) map[string]string {
		out := maps.Clone(byName[ns])
		if out == nil {
			out = map[string]string{}
		}
		out[plan.LabelNamespaceName] = ns
		return out
	}
}
