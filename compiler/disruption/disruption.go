// Package disruption is the arithmetic of PodDisruptionBudgets, in one
// place: the budgets of a plan with the pods they expect
// (getExpectedPodCount of the disruption controller), the disruptions a
// count of healthy pods allows (updatePdbStatus), whether a pod may go
// now (the eviction API's rules, unhealthyPodEvictionPolicy included),
// and which moves of a new plan a budget holds (berth plan's notes). The
// nodes call it with the healthy counts gossip brings; it is pure.
package disruption

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/selector"
)

// RuleOverlap is the rule of the warning for pods that more than one
// budget selects.
const RuleOverlap = "disruption-budget-overlap"

// Budgets returns every PodDisruptionBudget of set in the plan's form,
// sorted by namespace and name, each with the pods of p it selects
// counted, and a warning for each pair of budgets that select the same
// pods: the eviction API refuses such a pod, so it never moves. Each pod
// is matched once against the budgets its labels may select (Set), so
// the cost grows with the pods, not pods × budgets.
func Budgets(set *object.Set, p *plan.Plan) ([]plan.DisruptionBudget, []diag.Diagnostic) {
	var out []plan.DisruptionBudget
	objs := map[string]*object.Object{}
	for _, o := range object.Typed[api.PodDisruptionBudget](set, "PodDisruptionBudget") {
		if set.Get(o.Kind, o.Namespace, o.Name) != o.Object {
			continue // a duplicate is the checks' finding
		}
		spec := &o.V.Spec
		objs[o.Namespace+"/"+o.Name] = o.Object
		out = append(out, plan.DisruptionBudget{Namespace: o.Namespace, Name: o.Name, Selector: planSelector(spec.Selector),
			MinAvailable: planIntOrString(spec.MinAvailable), MaxUnavailable: planIntOrString(spec.MaxUnavailable),
			UnhealthyPodEvictionPolicy: cmp.Or(spec.UnhealthyPodEvictionPolicy, plan.IfHealthyBudget)})
	}
	if len(out) == 0 {
		return nil, nil
	}
	slices.SortFunc(out, func(a, b plan.DisruptionBudget) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	bs := NewSet(out)
	selected, unmanaged := make([]int, len(out)), make([]int, len(out))
	var diags []diag.Diagnostic
	overlap := map[[2]int]bool{}
	for i := range p.Nodes {
		for j := range p.Nodes[i].Pods {
			pod := &p.Nodes[i].Pods[j]
			cover := bs.Covering(pod.Namespace, pod.Labels)
			if len(cover) > 1 && !overlap[[2]int{cover[0], cover[1]}] {
				overlap[[2]int{cover[0], cover[1]}] = true
				a, b := &out[cover[0]], &out[cover[1]]
				diags = append(diags, objs[b.Key()].Diag(diag.Warning, RuleOverlap, "spec.selector",
					"PodDisruptionBudget %s selects pod %s, which PodDisruptionBudget %s selects too: the eviction API refuses a pod with more than one budget, so berth never moves it off a drained or removed node; make the selectors disjoint",
					b.Name, pod.Key(), a.Name))
			}
			for _, b := range cover {
				selected[b]++
				if pod.Owner.Kind == "Pod" {
					unmanaged[b]++
				}
			}
		}
	}
	for i := range out {
		out[i].ExpectedPods, out[i].DesiredHealthy = Expected(out[i].MinAvailable, out[i].MaxUnavailable, selected[i], unmanaged[i])
	}
	return out, diags
}

// Expected is the disruption controller's getExpectedPodCount for a
// budget over selected pods, unmanaged of which have no controller: a
// whole minAvailable expects the pods there are and wants that many
// healthy; a percentage, or maxUnavailable, expects the pods of their
// controllers (the plan runs exactly those) and rounds a percentage up.
// With neither set, nothing is expected, and no disruption is allowed.
func Expected(minAvailable, maxUnavailable *plan.IntOrString, selected, unmanaged int) (expected, desired int32) {
	managed := int32(selected - unmanaged)
	switch {
	case maxUnavailable != nil:
		return managed, max(managed-scaled(maxUnavailable, managed), 0)
	case minAvailable != nil && !minAvailable.IsString:
		return int32(selected), minAvailable.IntVal
	case minAvailable != nil:
		return managed, scaled(minAvailable, managed)
	}
	return 0, 0
}

// scaled is intstr.GetScaledValueFromIntOrPercent rounding up: a count,
// or a percentage of total (validation refused any other string).
func scaled(v *plan.IntOrString, total int32) int32 {
	if !v.IsString {
		return v.IntVal
	}
	pct, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	if err != nil {
		return 0
	}
	return int32((int64(pct)*int64(total) + 99) / 100)
}

// planSelector and planIntOrString are the plan's copies of the
// object's values (compiler/plan owns its types).
func planSelector(s *api.LabelSelector) *plan.LabelSelector {
	if s == nil {
		return nil
	}
	out := &plan.LabelSelector{MatchLabels: maps.Clone(s.MatchLabels)}
	for _, e := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, plan.LabelSelectorRequirement{Key: e.Key, Operator: e.Operator, Values: slices.Clone(e.Values)})
	}
	return out
}

func planIntOrString(v *api.IntOrString) *plan.IntOrString {
	if v == nil {
		return nil
	}
	return &plan.IntOrString{IsString: v.IsString, IntVal: v.IntVal, StrVal: v.StrVal}
}

// Allowed is the budget's disruptionsAllowed with healthy of its pods
// healthy (ready): none while no pod is expected (the controller's guard
// against pods it has not counted yet).
func Allowed(b *plan.DisruptionBudget, healthy int) int {
	n := healthy - int(b.DesiredHealthy)
	if b.ExpectedPods <= 0 || n <= 0 {
		return 0
	}
	return n
}

// MayStop is the eviction API's answer for one pod of b while healthy
// of b's pods are healthy: a ready pod goes when a disruption is
// allowed; one that is not ready goes with AlwaysAllow, and with
// IfHealthyBudget while the budget is met (or, as for a ready pod, when
// a disruption is allowed).
func MayStop(b *plan.DisruptionBudget, healthy int, ready bool) bool {
	if !ready {
		if b.UnhealthyPodEvictionPolicy == plan.AlwaysAllow {
			return true
		}
		if healthy >= int(b.DesiredHealthy) && b.DesiredHealthy > 0 {
			return true
		}
	}
	return Allowed(b, healthy) > 0
}

// Set is a plan's budgets with their selectors compiled and indexed: a
// budget whose selector requires some key=value is found through that
// label, the others (Exists, NotIn, empty) by namespace.
type Set struct {
	Budgets []plan.DisruptionBudget
	sels    []selector.Selector
	byLabel map[string][]int // namespace, key and value, NUL-separated
	other   map[string][]int // by namespace
}

// NewSet compiles the selectors of budgets.
func NewSet(budgets []plan.DisruptionBudget) *Set {
	s := &Set{Budgets: budgets, sels: make([]selector.Selector, len(budgets)), byLabel: map[string][]int{}, other: map[string][]int{}}
	for i := range budgets {
		b := &budgets[i]
		if b.Selector == nil {
			continue // selects nothing
		}
		s.sels[i] = compile(b)
		if k, v, ok := s.sels[i].Equality(); ok {
			key := b.Namespace + "\x00" + k + "\x00" + v
			s.byLabel[key] = append(s.byLabel[key], i)
		} else {
			s.other[b.Namespace] = append(s.other[b.Namespace], i)
		}
	}
	return s
}

// Covering returns the indexes of the budgets that select a pod of
// namespace ns with labels, in order.
func (s *Set) Covering(ns string, labels map[string]string) []int {
	var out []int
	for k, v := range labels {
		for _, i := range s.byLabel[ns+"\x00"+k+"\x00"+v] {
			if s.sels[i].Matches(labels) {
				out = append(out, i)
			}
		}
	}
	for _, i := range s.other[ns] {
		if s.sels[i].Matches(labels) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// compile is b's selector; an absent one selects nothing (policy/v1),
// as does one that does not parse (validation refused it already).
func compile(b *plan.DisruptionBudget) selector.Selector {
	if b.Selector == nil {
		return selector.Nothing()
	}
	s, err := selector.FromPlan(b.Selector)
	if err != nil {
		return selector.Nothing()
	}
	return s
}
