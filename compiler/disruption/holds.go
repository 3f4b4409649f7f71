package disruption

import (
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/compiler/plan"
)

// Move is a pod that runs on From in one plan and on To in the next
// (the same pod: its name follows its controller, not its node).
type Move struct {
	Pod  string `json:"pod"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Hold is a budget that holds moves from one plan to the next: the node
// a pod leaves keeps it until the budget allows it to go, that is until
// enough replacements are ready elsewhere.
type Hold struct {
	Budget string `json:"budget"`
	// Moves are the budget's pods that move, Allowed the disruptions it
	// allows with all its expected pods healthy.
	Moves   []Move `json:"moves"`
	Allowed int    `json:"allowed"`
	// Shared are the moving pods another budget also selects: the
	// eviction API refuses such a pod (more than one budget), so it
	// stays where it is until one of the budgets goes.
	Shared []string `json:"shared,omitempty"`
	// Reason is the hold in one line, for berth plan.
	Reason string `json:"reason"`
}

// Moves are the pods of prev that next runs on another node: what a
// drained or removed node, or a new placement, disrupts. Pods that next
// no longer runs at all are deleted, not moved (a scale down or a new
// revision is the controller's business, as in Kubernetes, where
// budgets do not hold them either). Sorted by pod.
func Moves(prev, next *plan.Plan) []Move {
	if prev == nil || next == nil {
		return nil
	}
	where := map[string]string{}
	for i := range next.Nodes {
		for j := range next.Nodes[i].Pods {
			where[next.Nodes[i].Pods[j].Key()] = next.Nodes[i].Node.Name
		}
	}
	var out []Move
	for i := range prev.Nodes {
		from := prev.Nodes[i].Node.Name
		for j := range prev.Nodes[i].Pods {
			key := prev.Nodes[i].Pods[j].Key()
			if to, ok := where[key]; ok && to != from {
				out = append(out, Move{Pod: key, From: from, To: to})
			}
		}
	}
	slices.SortFunc(out, func(a, b Move) int { return strings.Compare(a.Pod, b.Pod) })
	return out
}

// Holds are the budgets of next that hold moves from prev: those whose
// moving pods outnumber the disruptions they allow when every pod they
// expect is healthy, and pods two budgets select.
func Holds(prev, next *plan.Plan) []Hold {
	moves := Moves(prev, next)
	if len(moves) == 0 || len(next.DisruptionBudgets) == 0 {
		return nil
	}
	labels := map[string]map[string]string{}
	for i := range prev.Nodes {
		for j := range prev.Nodes[i].Pods {
			p := &prev.Nodes[i].Pods[j]
			labels[p.Key()] = p.Labels
		}
	}
	set := NewSet(next.DisruptionBudgets)
	byBudget := make([][]Move, len(set.Budgets))
	shared := make([][]string, len(set.Budgets))
	for _, m := range moves {
		ns, _, _ := strings.Cut(m.Pod, "/")
		cover := set.Covering(ns, labels[m.Pod])
		for _, i := range cover {
			byBudget[i] = append(byBudget[i], m)
			if len(cover) > 1 {
				shared[i] = append(shared[i], m.Pod)
			}
		}
	}
	var out []Hold
	for i := range set.Budgets {
		b := &set.Budgets[i]
		allowed := Allowed(b, int(b.ExpectedPods))
		if len(byBudget[i]) <= allowed && len(shared[i]) == 0 {
			continue
		}
		h := Hold{Budget: b.Key(), Moves: byBudget[i], Allowed: allowed, Shared: shared[i]}
		h.Reason = reason(b, &h)
		out = append(out, h)
	}
	return out
}

// reason is "PodDisruptionBudget default/web (minAvailable 2, 2 pods
// expected) allows 0 disruptions: 1 pod moving off n2 is held there
// until replacements are ready elsewhere".
func reason(b *plan.DisruptionBudget, h *Hold) string {
	var from []string
	for _, m := range h.Moves {
		if !slices.Contains(from, m.From) {
			from = append(from, m.From)
		}
	}
	slices.Sort(from)
	rule := "neither minAvailable nor maxUnavailable"
	switch {
	case b.MinAvailable != nil:
		rule = "minAvailable " + b.MinAvailable.String()
	case b.MaxUnavailable != nil:
		rule = "maxUnavailable " + b.MaxUnavailable.String()
	}
	head := fmt.Sprintf("PodDisruptionBudget %s (%s, %s expected) allows %s: ", b.Key(), rule, pods(int(b.ExpectedPods)), plural(h.Allowed, "disruption"))
	if h.Allowed >= len(h.Moves) {
		return head + fmt.Sprintf("%s, selected by more than one budget, %s on %s (the eviction API refuses a pod with more than one budget)",
			strings.Join(h.Shared, ", "), map[bool]string{true: "stays", false: "stay"}[len(h.Shared) == 1], strings.Join(from, ", "))
	}
	held := "is held there"
	if len(h.Moves) > 1 {
		held = "are held there"
	}
	if h.Allowed > 0 {
		held = fmt.Sprintf("(%d may go at once, the others are held there)", h.Allowed)
	}
	s := head + fmt.Sprintf("%s moving off %s %s until replacements are ready elsewhere", pods(len(h.Moves)), strings.Join(from, ", "), held)
	if len(h.Shared) > 0 {
		s += fmt.Sprintf("; %s, selected by more than one budget, never %s (the eviction API refuses such a pod)",
			strings.Join(h.Shared, ", "), map[bool]string{true: "moves", false: "move"}[len(h.Shared) == 1])
	}
	return s
}

func pods(n int) string { return plural(n, "pod") }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
