// Package nodefit decides whether a pod may run on a node by the node's
// own facts: nodeSelector, node affinity and taints, as kube-scheduler's
// NodeAffinity and TaintToleration plugins do (and the DaemonSet
// controller, which asks the same questions). Rules that depend on other
// pods (pod affinity, topology spread) and capacity are compiler/schedule's.
package nodefit

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/selector"
)

// Filter is a pod's node-level constraints, compiled once per template.
type Filter struct {
	nodeSelector selector.Selector
	// required are the terms of requiredDuringScheduling: one must match.
	// A term that does not parse (a Gt value that is not an integer)
	// matches no node, as in the scheduler.
	required    []term
	hasRequired bool
	preferred   []weighted
	tolerations []api.Toleration
	key         string
}

type term struct {
	sel selector.Selector
	ok  bool
}

type weighted struct {
	term
	weight int64
}

// New compiles spec's nodeSelector, node affinity and tolerations.
func New(spec *api.PodSpec) *Filter {
	f := &Filter{nodeSelector: selector.FromMap(spec.NodeSelector), tolerations: spec.Tolerations}
	var key strings.Builder
	key.WriteString(f.nodeSelector.String())
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		na := a.NodeAffinity
		if na.Required != nil {
			f.hasRequired = true
			for _, t := range na.Required.NodeSelectorTerms {
				s, err := selector.FromNodeSelectorTerm(t)
				f.required = append(f.required, term{s, err == nil})
				fmt.Fprintf(&key, "\x00r%v%s", err == nil, s.String())
			}
		}
		for _, p := range na.Preferred {
			s, err := selector.FromNodeSelectorTerm(p.Preference)
			f.preferred = append(f.preferred, weighted{term{s, err == nil}, int64(p.Weight)})
			fmt.Fprintf(&key, "\x00p%d%v%s", p.Weight, err == nil, s.String())
		}
	}
	for _, t := range spec.Tolerations {
		fmt.Fprintf(&key, "\x00t%s\x01%s\x01%s\x01%s", t.Key, t.Operator, t.Value, t.Effect)
	}
	f.key = key.String()
	return f
}

// Key identifies the filter: two pods with the same key are refused and
// scored alike by every node.
func (f *Filter) Key() string { return f.key }

// Refuses is why node n may not run the pod, or "" when it may. The
// reasons are the scheduler's, with the rule that refused.
func (f *Filter) Refuses(n *plan.Node) string {
	if !f.nodeSelector.Matches(n.Labels) {
		return "does not match nodeSelector " + f.nodeSelector.String()
	}
	if f.hasRequired && !f.matchesRequired(n) {
		return "does not match the pod's node affinity (" + f.requiredText() + ")"
	}
	if t := f.untolerated(n, false); t != nil {
		return fmt.Sprintf("has untolerated taint {%s}", TaintString(t))
	}
	// A pod that tolerates a NoExecute taint for tolerationSeconds is
	// evicted from the node when they run out, and Kubernetes' taint
	// manager keeps evicting its replacements: berth plans the end state
	// and places it elsewhere.
	if g := f.NoExecuteGrace(n); g >= 0 {
		return fmt.Sprintf("has taint {%s} that the pod tolerates for only %ds (tolerationSeconds)", TaintString(f.firstNoExecute(n)), g)
	}
	return ""
}

func (f *Filter) firstNoExecute(n *plan.Node) *plan.Taint {
	for i := range n.Taints {
		if n.Taints[i].Effect == api.TaintNoExecute {
			return &n.Taints[i]
		}
	}
	return nil
}

// MatchesAffinity reports whether n matches the pod's nodeSelector and
// required node affinity (a topology spread's nodeAffinityPolicy Honor).
func (f *Filter) MatchesAffinity(n *plan.Node) bool {
	return f.nodeSelector.Matches(n.Labels) && (!f.hasRequired || f.matchesRequired(n))
}

// ToleratesTaints reports whether the pod tolerates n's NoSchedule and
// NoExecute taints (a topology spread's nodeTaintsPolicy Honor).
func (f *Filter) ToleratesTaints(n *plan.Node) bool {
	return f.untolerated(n, false) == nil
}

func (f *Filter) matchesRequired(n *plan.Node) bool {
	for _, t := range f.required {
		if t.ok && t.sel.MatchesNode(n.Name, n.Labels) {
			return true
		}
	}
	return false
}

func (f *Filter) requiredText() string {
	var parts []string
	for _, t := range f.required {
		if !t.ok {
			parts = append(parts, "<a term that matches nothing>")
			continue
		}
		parts = append(parts, t.sel.String())
	}
	return strings.Join(parts, " or ")
}

// untolerated is the first taint of n with effect NoSchedule or
// NoExecute (or PreferNoSchedule when soft) that no toleration
// tolerates, or nil.
func (f *Filter) untolerated(n *plan.Node, soft bool) *plan.Taint {
	for i := range n.Taints {
		t := &n.Taints[i]
		if (t.Effect == api.TaintPreferNoSchedule) != soft {
			continue
		}
		if !Tolerated(f.tolerations, t) {
			return t
		}
	}
	return nil
}

// Tolerated reports whether one of ts tolerates taint.
func Tolerated(ts []api.Toleration, taint *plan.Taint) bool {
	at := api.Taint{Key: taint.Key, Value: taint.Value, Effect: taint.Effect}
	for i := range ts {
		if ts[i].Tolerates(&at) {
			return true
		}
	}
	return false
}

// TaintString prints a taint as kubectl does: key=value:Effect.
func TaintString(t *plan.Taint) string {
	if t.Value == "" {
		return t.Key + ":" + t.Effect
	}
	return t.Key + "=" + t.Value + ":" + t.Effect
}

// Score ranks a node the pod may run on, higher is better: the
// NodeAffinity plugin's sum of the weights of the preferred terms the
// node matches, and the TaintToleration plugin's count of PreferNoSchedule
// taints the pod does not tolerate (each costs more than any affinity
// weight: the scheduler weighs that plugin higher, and a tainted node is
// one its owner asked to keep free).
func (f *Filter) Score(n *plan.Node) int64 {
	var s int64
	for _, p := range f.preferred {
		if p.ok && p.sel.MatchesNode(n.Name, n.Labels) {
			s += p.weight
		}
	}
	for i := range n.Taints {
		t := &n.Taints[i]
		if t.Effect == api.TaintPreferNoSchedule && !Tolerated(f.tolerations, t) {
			s -= preferNoScheduleCost
		}
	}
	return s
}

// preferNoScheduleCost is above the largest sum of preferred weights a
// pod can reach in practice (100 per term).
const preferNoScheduleCost = 1 << 20

// NoExecuteGrace is how long a pod placed on n may stay there: -1 when
// forever (no NoExecute taint, or every one tolerated without
// tolerationSeconds), otherwise the smallest tolerationSeconds among
// the first tolerations of its NoExecute taints (the taint manager's
// getMinTolerationTime; a negative value counts as 0).
func (f *Filter) NoExecuteGrace(n *plan.Node) int64 {
	grace := int64(-1)
	for i := range n.Taints {
		t := &n.Taints[i]
		if t.Effect != api.TaintNoExecute {
			continue
		}
		at := api.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect}
		for j := range f.tolerations {
			tol := &f.tolerations[j]
			if !tol.Tolerates(&at) {
				continue
			}
			if tol.TolerationSeconds != nil {
				if s := max(*tol.TolerationSeconds, 0); grace < 0 || s < grace {
					grace = s
				}
			}
			break
		}
	}
	return grace
}

// TaintUnschedulable is the taint of a cordoned node (Kubernetes'
// TaintNodeUnschedulable, NoSchedule).
const TaintUnschedulable = "node.kubernetes.io/unschedulable"

// Cordon marks the nodes named in names unschedulable, with the taint
// Kubernetes gives a cordoned node: pods that do not tolerate it are
// placed elsewhere. Names that are not nodes are ignored (a drained
// node may have left the inventory since).
func Cordon(nodes []plan.Node, names []string) {
	for i := range nodes {
		n := &nodes[i]
		if n.Unschedulable || !slices.Contains(names, n.Name) {
			continue
		}
		n.Unschedulable = true
		n.Taints = append(n.Taints, plan.Taint{Key: TaintUnschedulable, Effect: api.TaintNoSchedule})
	}
}

// ForDaemonSet is n as a DaemonSet's pods see it: the DaemonSet
// controller gives them a toleration of node.kubernetes.io/unschedulable
// (AddOrUpdateDaemonPodTolerations), so a cordoned node keeps them, as
// kubectl drain --ignore-daemonsets leaves them.
func ForDaemonSet(n *plan.Node) *plan.Node {
	if !n.Unschedulable {
		return n
	}
	c := *n
	c.Taints = slices.DeleteFunc(slices.Clone(n.Taints), func(t plan.Taint) bool {
		return t.Key == TaintUnschedulable && t.Effect == api.TaintNoSchedule
	})
	return &c
}

// Nodes is the names of the nodes that may run the pod, in the order
// given: a DaemonSet's node set, as the DaemonSet controller's
// predicates choose it (a drained node included: ForDaemonSet). The
// plan carries it (plan.Workload.Nodes), so
// admission counts, expansion places and the reconciler ranks the same
// nodes.
func (f *Filter) Nodes(nodes []plan.Node) []string {
	out := []string{}
	for i := range nodes {
		if f.Refuses(ForDaemonSet(&nodes[i])) == "" {
			out = append(out, nodes[i].Name)
		}
	}
	return out
}

// FitFacts is an inventory Node's facts that a Filter reads: its labels,
// with Kubernetes' well-known hostname label so that a nodeSelector can
// pin a node, and its taints. compiler/schedule adds the rest.
func FitFacts(name string, n *api.Node) plan.Node {
	pn := plan.Node{Name: name, Labels: maps.Clone(n.Metadata.Labels)}
	for _, t := range n.Spec.Taints {
		pn.Taints = append(pn.Taints, plan.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
	}
	if pn.Labels == nil {
		pn.Labels = map[string]string{}
	}
	if _, ok := pn.Labels["kubernetes.io/hostname"]; !ok {
		pn.Labels["kubernetes.io/hostname"] = name
	}
	return pn
}
