package disruption

import (
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
)

func num(n int32) *plan.IntOrString { return &plan.IntOrString{IntVal: n} }

func pct(s string) *plan.IntOrString { return &plan.IntOrString{IsString: true, StrVal: s} }

// TestExpected is getExpectedPodCount: a whole minAvailable counts the
// pods there are; percentages round up over the controllers' pods.
func TestExpected(t *testing.T) {
	for _, tc := range []struct {
		name                string
		min, max            *plan.IntOrString
		selected, unmanaged int
		expected, desired   int32
	}{
		{"minAvailable 2 of 2", num(2), nil, 2, 0, 2, 2},
		{"minAvailable 3 of 2", num(3), nil, 2, 0, 2, 3},
		{"minAvailable counts bare pods", num(1), nil, 3, 2, 3, 1},
		{"minAvailable 50% of 3 rounds up", pct("50%"), nil, 3, 0, 3, 2},
		{"minAvailable 100%", pct("100%"), nil, 4, 0, 4, 4},
		{"minAvailable 0%", pct("0%"), nil, 4, 0, 4, 0},
		{"minAvailable % skips bare pods", pct("50%"), nil, 3, 1, 2, 1},
		{"maxUnavailable 1 of 3", nil, num(1), 3, 0, 3, 2},
		{"maxUnavailable 5 of 3", nil, num(5), 3, 0, 3, 0},
		{"maxUnavailable 0", nil, num(0), 3, 0, 3, 3},
		{"maxUnavailable 25% of 5 rounds up", nil, pct("25%"), 5, 0, 5, 3},
		{"maxUnavailable skips bare pods", nil, num(1), 2, 2, 0, 0},
		{"neither", nil, nil, 4, 0, 0, 0},
		{"no pods", num(1), nil, 0, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, d := Expected(tc.min, tc.max, tc.selected, tc.unmanaged)
			if e != tc.expected || d != tc.desired {
				t.Errorf("Expected = %d, %d; want %d, %d", e, d, tc.expected, tc.desired)
			}
		})
	}
}

// TestAllowedAndMayStop is updatePdbStatus's disruptionsAllowed and the
// eviction API's rules, unhealthyPodEvictionPolicy included.
func TestAllowedAndMayStop(t *testing.T) {
	for _, tc := range []struct {
		name              string
		expected, desired int32
		policy            string
		healthy           int
		allowed           int
		readyGoes         bool
		unreadyGoes       bool
	}{
		{"budget met exactly", 2, 2, plan.IfHealthyBudget, 2, 0, false, true},
		{"replacement ready", 2, 2, plan.IfHealthyBudget, 3, 1, true, true},
		{"one short", 2, 2, plan.IfHealthyBudget, 1, 0, false, false},
		{"one short, AlwaysAllow", 2, 2, plan.AlwaysAllow, 1, 0, false, true},
		{"nothing expected", 0, 0, plan.IfHealthyBudget, 3, 0, false, false},
		{"desired 0", 3, 0, plan.IfHealthyBudget, 2, 2, true, true},
		{"desired 0, none healthy", 3, 0, plan.IfHealthyBudget, 0, 0, false, false},
		{"desired 0, none healthy, AlwaysAllow", 3, 0, plan.AlwaysAllow, 0, 0, false, true},
		{"two spare", 5, 3, plan.IfHealthyBudget, 5, 2, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &plan.DisruptionBudget{ExpectedPods: tc.expected, DesiredHealthy: tc.desired, UnhealthyPodEvictionPolicy: tc.policy}
			if got := Allowed(b, tc.healthy); got != tc.allowed {
				t.Errorf("Allowed = %d, want %d", got, tc.allowed)
			}
			if got := MayStop(b, tc.healthy, true); got != tc.readyGoes {
				t.Errorf("MayStop(ready) = %v, want %v", got, tc.readyGoes)
			}
			if got := MayStop(b, tc.healthy, false); got != tc.unreadyGoes {
				t.Errorf("MayStop(not ready) = %v, want %v", got, tc.unreadyGoes)
			}
		})
	}
}

func TestCovering(t *testing.T) {
	s := NewSet([]plan.DisruptionBudget{
		{Namespace: "default", Name: "all", Selector: &plan.LabelSelector{}},
		{Namespace: "default", Name: "none"},
		{Namespace: "default", Name: "web", Selector: &plan.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		{Namespace: "other", Name: "web", Selector: &plan.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	})
	got := s.Covering("default", map[string]string{"app": "web"})
	if len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Errorf("Covering = %v, want [0 2]", got)
	}
	if got := s.Covering("other", map[string]string{"app": "db"}); len(got) != 0 {
		t.Errorf("Covering(other, db) = %v, want none", got)
	}
}

func pod(name string, labels map[string]string) plan.Pod {
	return plan.Pod{Namespace: "default", Name: name, Labels: labels, Owner: plan.Owner{Kind: "Deployment", Name: "web"}}
}

func nodes(parts map[string][]plan.Pod) []plan.NodePlan {
	var out []plan.NodePlan
	for _, n := range []string{"n1", "n2", "n3"} {
		if pods, ok := parts[n]; ok {
			out = append(out, plan.NodePlan{Node: plan.Node{Name: n}, Pods: pods})
		}
	}
	return out
}

func TestHolds(t *testing.T) {
	web := map[string]string{"app": "web"}
	budget := func(min *plan.IntOrString, max *plan.IntOrString, expected, desired int32) plan.DisruptionBudget {
		return plan.DisruptionBudget{Namespace: "default", Name: "web", Selector: &plan.LabelSelector{MatchLabels: web},
			MinAvailable: min, MaxUnavailable: max, UnhealthyPodEvictionPolicy: plan.IfHealthyBudget, ExpectedPods: expected, DesiredHealthy: desired}
	}
	prev := &plan.Plan{Nodes: nodes(map[string][]plan.Pod{"n1": {pod("a", web)}, "n2": {pod("b", web), pod("c", web)}})}
	drained := nodes(map[string][]plan.Pod{"n1": {pod("a", web), pod("b", web), pod("c", web)}})
	for _, tc := range []struct {
		name    string
		next    *plan.Plan
		want    []string
		moves   int
		allowed int
	}{{
		name:  "minAvailable 3 holds both",
		next:  &plan.Plan{Nodes: drained, DisruptionBudgets: []plan.DisruptionBudget{budget(num(3), nil, 3, 3)}},
		want:  []string{"PodDisruptionBudget default/web (minAvailable 3, 3 pods expected) allows 0 disruptions: 2 pods moving off n2 are held there until replacements are ready elsewhere"},
		moves: 2,
	}, {
		name:  "maxUnavailable 1 holds one",
		next:  &plan.Plan{Nodes: drained, DisruptionBudgets: []plan.DisruptionBudget{budget(nil, num(1), 3, 2)}},
		want:  []string{"PodDisruptionBudget default/web (maxUnavailable 1, 3 pods expected) allows 1 disruption: 2 pods moving off n2 (1 may go at once, the others are held there) until replacements are ready elsewhere"},
		moves: 2, allowed: 1,
	}, {
		name: "maxUnavailable 2 holds none",
		next: &plan.Plan{Nodes: drained, DisruptionBudgets: []plan.DisruptionBudget{budget(nil, num(2), 3, 1)}},
	}, {
		name: "scale down is not a move",
		next: &plan.Plan{Nodes: nodes(map[string][]plan.Pod{"n1": {pod("a", web)}}), DisruptionBudgets: []plan.DisruptionBudget{budget(num(1), nil, 1, 1)}},
	}, {
		name: "a pod of two budgets never moves",
		next: &plan.Plan{Nodes: drained, DisruptionBudgets: []plan.DisruptionBudget{
			{Namespace: "default", Name: "all", Selector: &plan.LabelSelector{}, MaxUnavailable: num(3), ExpectedPods: 3},
			budget(nil, num(3), 3, 0)}},
		want: []string{
			"PodDisruptionBudget default/all (maxUnavailable 3, 3 pods expected) allows 3 disruptions: default/b, default/c, selected by more than one budget, stay on n2 (the eviction API refuses a pod with more than one budget)",
			"PodDisruptionBudget default/web (maxUnavailable 3, 3 pods expected) allows 3 disruptions: default/b, default/c, selected by more than one budget, stay on n2 (the eviction API refuses a pod with more than one budget)",
		},
		moves: 2, allowed: 3,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := Holds(prev, tc.next)
			var got []string
			for _, h := range hs {
				got = append(got, h.Reason)
				if len(h.Moves) != tc.moves || h.Allowed != tc.allowed {
					t.Errorf("%s: %d moves, %d allowed; want %d, %d", h.Budget, len(h.Moves), h.Allowed, tc.moves, tc.allowed)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("holds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
