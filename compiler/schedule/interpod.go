package schedule

import (
	"fmt"
	"slices"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/expand"
	"berth.dev/berth/compiler/selector"
)

// placedPod is a pod already on a node, as pod affinity and topology
// spread see it.
type placedPod struct {
	ns     string
	labels map[string]string
	node   *node
}

// podIndex holds the placed pods, with the pods of each label key=value
// so that a term that names one (matchLabels, as charts write them)
// reads only the pods that carry it: the work grows with the matching
// pods, not with every pod placed.
type podIndex struct {
	pods   []placedPod
	byPair map[string][]int
	// nsLabels are a namespace's labels, which namespaceSelectors read.
	nsLabels func(ns string) map[string]string
	// holders are the placed groups with required anti-affinity: an
	// incoming pod they select must keep out of their domains (the
	// InterPodAffinity plugin checks existing pods' terms too).
	holders []*podTerm
}

func newPodIndex(nsLabels func(string) map[string]string) *podIndex {
	return &podIndex{byPair: map[string][]int{}, nsLabels: nsLabels}
}

func (x *podIndex) add(ns string, labels map[string]string, n *node) {
	i := len(x.pods)
	x.pods = append(x.pods, placedPod{ns, labels, n})
	for k, v := range labels {
		x.byPair[k+"="+v] = append(x.byPair[k+"="+v], i)
	}
}

// namespaces is the namespaces a term selects: all, those named, and
// those whose labels its namespaceSelector matches (sel; the answer kept
// per namespace in seen), as the API server unions namespaces and
// namespaceSelector.
type namespaces struct {
	all    bool
	names  []string
	sel    *selector.Selector
	labels func(string) map[string]string
	seen   map[string]bool
}

func (s namespaces) has(ns string) bool {
	if s.all || slices.Contains(s.names, ns) {
		return true
	}
	if s.sel == nil {
		return false
	}
	m, ok := s.seen[ns]
	if !ok {
		m = s.sel.Matches(s.labels(ns))
		s.seen[ns] = m
	}
	return m
}

// podTerm is a pod affinity term, a preferred one, or a spread
// constraint, compiled for one group, with the count of its matching
// pods in each topology domain.
type podTerm struct {
	sel    selector.Selector
	ns     namespaces
	key    string // topologyKey
	weight int64
	// self: the group's own pods match the term (they count as they are
	// placed).
	self   bool
	counts map[string]int
	total  int
	text   string
}

// compileTerm builds the term of a pod of group g (labels, namespace);
// nsLabels are a namespace's labels.
func compileTerm(t *api.PodAffinityTerm, ns string, labels map[string]string, nsLabels func(string) map[string]string) (*podTerm, error) {
	sel := selector.Nothing() // a nil labelSelector matches no pod
	if t.LabelSelector != nil {
		s, err := selector.FromLabelSelector(t.LabelSelector)
		if err != nil {
			return nil, err
		}
		sel = s
	}
	sel = sel.And(labelKeys(labels, t.MatchLabelKeys, "In")).And(labelKeys(labels, t.MismatchLabelKeys, "NotIn"))
	pt := &podTerm{sel: sel, key: t.TopologyKey, counts: map[string]int{}}
	switch {
	case t.NamespaceSelector != nil && len(t.NamespaceSelector.MatchLabels) == 0 && len(t.NamespaceSelector.MatchExpressions) == 0:
		pt.ns.all = true
	case t.NamespaceSelector != nil:
		nsSel, err := selector.FromLabelSelector(t.NamespaceSelector)
		if err != nil {
			return nil, err
		}
		pt.ns = namespaces{names: t.Namespaces, sel: &nsSel, labels: nsLabels, seen: map[string]bool{}}
	case len(t.Namespaces) > 0:
		pt.ns.names = t.Namespaces
	default:
		pt.ns.names = []string{ns}
	}
	pt.self = pt.ns.has(ns) && sel.Matches(labels)
	pt.text = fmt.Sprintf("{%s} in %s", sel.String(), t.TopologyKey)
	return pt, nil
}

// labelKeys is the selector that matchLabelKeys (op In) or
// mismatchLabelKeys (op NotIn) add for a pod with labels: a key the
// pod does not carry adds nothing, as the API server does.
func labelKeys(labels map[string]string, keys []string, op string) selector.Selector {
	var s selector.Selector
	for _, k := range keys {
		v, ok := labels[k]
		if !ok {
			continue
		}
		one, _ := selector.FromLabelSelector(&api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{{Key: k, Operator: op, Values: []string{v}}}})
		s = s.And(one)
	}
	return s
}

// count fills the term's domain counts from the placed pods. within
// limits the domains counted (topology spread's node policies), nil
// for all.
func (t *podTerm) count(x *podIndex, within func(*node) bool) {
	visit := func(p *placedPod) {
		v, ok := p.node.Labels[t.key]
		if ok && t.ns.has(p.ns) && t.sel.Matches(p.labels) && (within == nil || within(p.node)) {
			t.counts[v]++
			t.total++
		}
	}
	if k, v, ok := t.sel.Equality(); ok {
		for _, i := range x.byPair[k+"="+v] {
			visit(&x.pods[i])
		}
		return
	}
	for i := range x.pods {
		visit(&x.pods[i])
	}
}

// in is the count of matching pods in n's domain, and whether n has the
// topology label at all.
func (t *podTerm) in(n *node) (int, bool) {
	v, ok := n.Labels[t.key]
	if !ok {
		return 0, false
	}
	return t.counts[v], true
}

// placed records one of the group's own pods on n.
func (t *podTerm) placed(n *node) {
	if v, ok := n.Labels[t.key]; ok && t.self {
		t.counts[v]++
		t.total++
	}
}

// spreadTerm is a topology spread constraint for one group.
type spreadTerm struct {
	podTerm
	maxSkew    int
	minDomains int
	hard       bool
	// domains are the topology values of the nodes the constraint
	// counts (its node policies), with their pod counts in podTerm.
	domains map[string]bool
	within  func(*node) bool
	// minNow is the global minimum of matching pods over the domains,
	// and atMin how many domains hold it: counts only grow, so it is
	// recomputed only when the last domain at the minimum fills
	// (amortised constant per pod).
	minNow, atMin int
}

func (s *spreadTerm) recompute() {
	s.minNow, s.atMin = -1, 0
	for d := range s.domains {
		switch c := s.counts[d]; {
		case s.minNow < 0 || c < s.minNow:
			s.minNow, s.atMin = c, 1
		case c == s.minNow:
			s.atMin++
		}
	}
	s.minNow = max(s.minNow, 0)
}

// min is the global minimum (0 when there are fewer domains than
// minDomains).
func (s *spreadTerm) min() int {
	if len(s.domains) < s.minDomains {
		return 0
	}
	return s.minNow
}

// add counts one of the group's pods on n.
func (s *spreadTerm) add(n *node) {
	v, ok := n.Labels[s.key]
	if !ok || !s.self || !s.within(n) {
		return
	}
	before := s.counts[v]
	s.counts[v]++
	s.total++
	if s.domains[v] && before == s.minNow {
		if s.atMin--; s.atMin <= 0 {
			s.recompute()
		}
	}
}

// groupTerms is a group's inter-pod rules.
type groupTerms struct {
	affinity, anti         []*podTerm // required
	prefAffinity, prefAnti []*podTerm // preferred, with weights
	spread                 []*spreadTerm
	// against are the holders that select this group's pods (required
	// anti-affinity of pods placed before); holding are this group's own
	// required anti-affinity terms as holders, counting its pods.
	against, holding []*podTerm
}

func (g *groupTerms) empty() bool {
	return len(g.affinity)+len(g.anti)+len(g.prefAffinity)+len(g.prefAnti)+len(g.spread)+len(g.against) == 0
}

// scored reports whether the group's pods are scored against the pods
// already placed (preferred terms, ScheduleAnyway spread).
func (g *groupTerms) scored() bool {
	if len(g.prefAffinity)+len(g.prefAnti) > 0 {
		return true
	}
	for _, s := range g.spread {
		if !s.hard {
			return true
		}
	}
	return false
}

// hasPodTerms reports whether spec has any pod affinity, anti-affinity
// or topology spread: such groups are placed after the others, so that
// the pods they refer to are already there.
func hasPodTerms(spec *api.PodSpec) bool {
	if spec == nil {
		return false
	}
	if a := spec.Affinity; a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil) {
		return true
	}
	return len(spec.TopologySpreadConstraints) > 0
}

// newGroupTerms compiles the inter-pod rules of p's group against the
// pods placed so far.
func newGroupTerms(p *expand.Pod, x *podIndex, nodes []*node) (*groupTerms, error) {
	g := &groupTerms{}
	ns, labels := p.Pod.Namespace, p.Pod.Labels
	for _, h := range x.holders {
		if h.ns.has(ns) && h.sel.Matches(labels) {
			g.against = append(g.against, h)
		}
	}
	spec := p.Spec
	if spec == nil {
		return g, nil
	}
	add := func(dst *[]*podTerm, t *api.PodAffinityTerm, w int32) error {
		pt, err := compileTerm(t, ns, labels, x.nsLabels)
		if err != nil {
			return err
		}
		pt.weight = int64(w)
		pt.count(x, nil)
		*dst = append(*dst, pt)
		return nil
	}
	if a := spec.Affinity; a != nil {
		for _, pa := range []struct {
			a         *api.PodAffinity
			req, pref *[]*podTerm
		}{{a.PodAffinity, &g.affinity, &g.prefAffinity}, {a.PodAntiAffinity, &g.anti, &g.prefAnti}} {
			if pa.a == nil {
				continue
			}
			for i := range pa.a.Required {
				if err := add(pa.req, &pa.a.Required[i], 0); err != nil {
					return nil, err
				}
			}
			for i := range pa.a.Preferred {
				if err := add(pa.pref, &pa.a.Preferred[i].PodAffinityTerm, pa.a.Preferred[i].Weight); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, t := range g.anti {
		h := &podTerm{sel: t.sel, ns: t.ns, key: t.key, counts: map[string]int{}, text: t.text}
		g.holding = append(g.holding, h)
		x.holders = append(x.holders, h)
	}
	for i := range spec.TopologySpreadConstraints {
		c := &spec.TopologySpreadConstraints[i]
		sel := selector.Nothing()
		if c.LabelSelector != nil {
			s, err := selector.FromLabelSelector(c.LabelSelector)
			if err != nil {
				return nil, err
			}
			sel = s
		}
		sel = sel.And(labelKeys(labels, c.MatchLabelKeys, "In"))
		st := &spreadTerm{
			podTerm: podTerm{sel: sel, ns: namespaces{names: []string{ns}}, key: c.TopologyKey, counts: map[string]int{}},
			maxSkew: int(c.MaxSkew), hard: c.WhenUnsatisfiable == "DoNotSchedule", domains: map[string]bool{},
		}
		st.self = sel.Matches(labels)
		st.text = fmt.Sprintf("topology spread {%s} over %s (maxSkew %d)", sel.String(), c.TopologyKey, c.MaxSkew)
		if c.MinDomains != nil {
			st.minDomains = int(*c.MinDomains)
		}
		honorAffinity := c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == "Honor"
		honorTaints := c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == "Honor"
		st.within = func(n *node) bool {
			return (!honorAffinity || p.Fit.MatchesAffinity(&n.Node)) && (!honorTaints || p.Fit.ToleratesTaints(&n.Node))
		}
		for _, n := range nodes {
			if v, ok := n.Labels[st.key]; ok && st.within(n) {
				st.domains[v] = true
			}
		}
		st.count(x, st.within)
		st.recompute()
		g.spread = append(g.spread, st)
	}
	return g, nil
}

// refuses is the inter-pod rule that keeps a pod of the group off n, or
// "".
func (g *groupTerms) refuses(n *node) string {
	// The first pod of a group whose affinity selects itself may go
	// anywhere when no pod matches yet (the scheduler's special case).
	first := true
	for _, t := range g.affinity {
		if t.total > 0 || !t.self {
			first = false
		}
	}
	if !first {
		for _, t := range g.affinity {
			if c, _ := t.in(n); c == 0 {
				return "does not satisfy the pod's affinity " + t.text
			}
		}
	}
	for _, t := range g.anti {
		if c, _ := t.in(n); c > 0 {
			return "does not satisfy the pod's anti-affinity " + t.text
		}
	}
	for _, h := range g.against {
		if c, _ := h.in(n); c > 0 {
			return "does not satisfy the anti-affinity of pods already there " + h.text
		}
	}
	for _, s := range g.spread {
		if !s.hard {
			continue
		}
		c, ok := s.in(n)
		if !ok {
			return fmt.Sprintf("does not have the label %s of its %s", s.key, s.text)
		}
		self := 0
		if s.self {
			self = 1
		}
		if skew := c + self - s.min(); skew > s.maxSkew {
			return fmt.Sprintf("would make the skew %d of its %s", skew, s.text)
		}
	}
	return ""
}

// score is the inter-pod preference for n: the weights of the preferred
// affinity terms times their matching pods in n's domain, minus those of
// the anti-affinity terms, minus the matching pods of each ScheduleAnyway
// spread in n's domain (InterPodAffinity's and PodTopologySpread's
// scores, without their normalisation).
func (g *groupTerms) score(n *node) int64 {
	var s int64
	for _, t := range g.prefAffinity {
		c, _ := t.in(n)
		s += t.weight * int64(c)
	}
	for _, t := range g.prefAnti {
		c, _ := t.in(n)
		s -= t.weight * int64(c)
	}
	for _, sp := range g.spread {
		if !sp.hard {
			c, _ := sp.in(n)
			s -= int64(c)
		}
	}
	return s
}

// bounded reports whether 0 is the best score a node can have (no
// preferred affinity term adds weight): the search stops at the first
// node that scores 0.
func (g *groupTerms) bounded() bool { return len(g.prefAffinity) == 0 }

// placed records one of the group's pods on n.
func (g *groupTerms) placed(n *node) {
	for _, ts := range [][]*podTerm{g.affinity, g.anti, g.prefAffinity, g.prefAnti} {
		for _, t := range ts {
			t.placed(n)
		}
	}
	for _, s := range g.spread {
		s.add(n)
	}
	for _, h := range g.holding {
		if v, ok := n.Labels[h.key]; ok {
			h.counts[v]++
			h.total++
		}
	}
}
