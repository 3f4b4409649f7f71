package daemon

import (
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/gossip"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/fleet"
)

func webPod(name string) plan.Pod {
	return plan.Pod{Namespace: "default", Name: name, Labels: map[string]string{"app": "web"}, Owner: plan.Owner{Kind: "Deployment", Name: "web"}}
}

// TestHoldMoves: n2 is drained and its pod b moves to n1; a budget of
// minAvailable 2 over 2 pods keeps b on n2 until the replacement on n1
// is ready (the cluster then has 3 healthy), and lets it go then.
func TestHoldMoves(t *testing.T) {
	budget := func(policy string) []plan.DisruptionBudget {
		min := plan.IntOrString{IntVal: 2}
		return []plan.DisruptionBudget{{Namespace: "default", Name: "web", Selector: &plan.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			MinAvailable: &min, UnhealthyPodEvictionPolicy: policy, ExpectedPods: 2, DesiredHealthy: 2}}
	}
	next := func(budgets []plan.DisruptionBudget) *plan.Plan {
		return &plan.Plan{Nodes: []plan.NodePlan{
			{Node: plan.Node{Name: "n1"}, Pods: []plan.Pod{webPod("a"), webPod("b")}},
			{Node: plan.Node{Name: "n2", Unschedulable: true}},
		}, DisruptionBudgets: budgets}
	}
	prev := []plan.Pod{webPod("b")}
	running := func(ready bool) []reconciler.PodReady {
		return []reconciler.PodReady{{Namespace: "default", Name: "b", Labels: map[string]string{"app": "web"}, Ready: ready}}
	}
	for _, tc := range []struct {
		name  string
		p     *plan.Plan
		local []reconciler.PodReady
		peers map[string]map[string]int
		held  bool
		note  string
	}{{
		name: "replacement not ready", p: next(budget(plan.IfHealthyBudget)), local: running(true),
		peers: map[string]map[string]int{"n1": {"default/web": 1}}, held: true,
		note: "pod default/b stays until a replacement is ready elsewhere: PodDisruptionBudget default/web has 2 healthy of 2 wanted (2 expected), 0 disruptions allowed",
	}, {
		name: "no word from n1", p: next(budget(plan.IfHealthyBudget)), local: running(true), peers: map[string]map[string]int{}, held: true,
		note: "pod default/b stays until a replacement is ready elsewhere: PodDisruptionBudget default/web has 1 healthy of 2 wanted (2 expected), 0 disruptions allowed",
	}, {
		name: "replacement ready", p: next(budget(plan.IfHealthyBudget)), local: running(true),
		peers: map[string]map[string]int{"n1": {"default/web": 2}},
	}, {
		name: "a node outside the inventory does not count", p: next(budget(plan.IfHealthyBudget)), local: running(true),
		peers: map[string]map[string]int{"n1": {"default/web": 1}, "gone": {"default/web": 5}}, held: true,
		note: "pod default/b stays until a replacement is ready elsewhere: PodDisruptionBudget default/web has 2 healthy of 2 wanted (2 expected), 0 disruptions allowed",
	}, {
		name: "unready pod, budget not met", p: next(budget(plan.IfHealthyBudget)), local: running(false),
		peers: map[string]map[string]int{"n1": {"default/web": 1}}, held: true,
		note: "pod default/b stays until a replacement is ready elsewhere: PodDisruptionBudget default/web has 1 healthy of 2 wanted (2 expected), 0 disruptions allowed",
	}, {
		name: "unready pod, budget met", p: next(budget(plan.IfHealthyBudget)), local: running(false),
		peers: map[string]map[string]int{"n1": {"default/web": 2}},
	}, {
		name: "unready pod, AlwaysAllow", p: next(budget(plan.AlwaysAllow)), local: running(false),
		peers: map[string]map[string]int{"n1": {"default/web": 1}},
	}, {
		name: "no budget selects it", p: next(nil), local: running(true), peers: map[string]map[string]int{},
	}, {
		name: "two budgets select it", local: running(true), peers: map[string]map[string]int{"n1": {"default/web": 5, "default/all": 5}},
		p:    next(append([]plan.DisruptionBudget{{Namespace: "default", Name: "all", Selector: &plan.LabelSelector{}, ExpectedPods: 2}}, budget(plan.IfHealthyBudget)...)),
		held: true, note: "pod default/b stays: more than one PodDisruptionBudget selects it (default/all, default/web), which the eviction API refuses",
	}, {
		name: "already stopped", p: next(budget(plan.IfHealthyBudget)), peers: map[string]map[string]int{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			held, notes, _ := holdMoves("n2", prev, tc.p, tc.local, tc.peers)
			if (len(held) == 1) != tc.held || tc.held && held[0].Name != "b" {
				t.Errorf("held %v, want held %v", held, tc.held)
			}
			if got := strings.Join(notes, "\n"); got != tc.note {
				t.Errorf("notes:\n%s\nwant:\n%s", got, tc.note)
			}
		})
	}
}

// TestWithHeld keeps the loop's plan as it is.
func TestWithHeld(t *testing.T) {
	p := &plan.Plan{Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n2"}, Pods: []plan.Pod{webPod("c")}}}}
	q := withHeld(p, "n2", []plan.Pod{webPod("a")})
	if len(p.Nodes[0].Pods) != 1 || len(q.Nodes[0].Pods) != 2 || q.Nodes[0].Pods[0].Name != "a" {
		t.Fatalf("plan %v, held %v", p.Nodes[0].Pods, q.Nodes[0].Pods)
	}
}

// TestFactsCarryBudgets: the budget counts travel with the revision
// facts, which decode as before; counts that do not fit are left out.
func TestFactsCarryBudgets(t *testing.T) {
	var a, b factsBox
	a.fleet = fleet.Facts{Healthy: []string{"r1"}}
	a.setBudgets(map[string]int{"default/web": 2})
	b.learn("n1", a.encoded())
	if b.peers["n1"].Healthy[0] != "r1" || b.counts["n1"]["default/web"] != 2 {
		t.Fatalf("learned %+v, counts %v", b.peers["n1"], b.counts["n1"])
	}
	many := map[string]int{}
	for i := range 200 {
		many["default/budget-"+strings.Repeat("x", 10)+string(rune('a'+i%26))+string(rune('a'+i/26))] = 1
	}
	a.setBudgets(many)
	if n := len(a.encoded()); n > fleet.MaxBytes {
		t.Fatalf("facts of %d bytes, over %d", n, fleet.MaxBytes)
	}
	b.learn("n1", a.encoded())
	if got := len(b.counts["n1"]); got == 0 || got >= 200 || b.peers["n1"].Healthy[0] != "r1" {
		t.Fatalf("%d counts learned of 200, facts %+v", got, b.peers["n1"])
	}
}

// TestHoldSettles: a pod its budget lets go waits holdSettle, on every
// recheck, before it goes; a hold in between starts it over.
func TestHoldSettles(t *testing.T) {
	var h holds
	t0 := time.Unix(1000, 0)
	pod := webPod("b")
	held, notes := h.settle(nil, nil, []plan.Pod{pod}, t0)
	if len(held) != 1 || !strings.Contains(notes[0], "goes once its budget has allowed it for 1.5s") {
		t.Fatalf("first allowed: held %v, notes %v", held, notes)
	}
	if held, _ = h.settle(nil, nil, []plan.Pod{pod}, t0.Add(time.Second)); len(held) != 1 {
		t.Fatal("went before holdSettle")
	}
	if held, _ = h.settle(nil, nil, []plan.Pod{pod}, t0.Add(2*time.Second)); len(held) != 0 {
		t.Fatalf("still held after holdSettle: %v", held)
	}
	h.settle(nil, nil, []plan.Pod{pod}, t0.Add(3*time.Second))
	h.settle([]plan.Pod{pod}, nil, nil, t0.Add(4*time.Second)) // held again
	if held, _ = h.settle(nil, nil, []plan.Pod{pod}, t0.Add(5*time.Second)); len(held) != 1 {
		t.Fatal("a hold in between did not start the wait over")
	}
}

// TestLeavingMembers: a node a plan removes stays in the gossip
// inventory for leaveGrace (on the others, and on itself, whose drained
// plan has no address for it), and goes at once when it is back.
func TestLeavingMembers(t *testing.T) {
	ps := newPeers(&Config{Node: "n1", PeerPort: 1}, func() local { return nil }, func() {})
	t0 := time.Unix(1000, 0)
	n := func(names ...string) []gossip.Member {
		var out []gossip.Member
		for _, x := range names {
			out = append(out, gossip.Member{Name: x, Addr: "10.0.0." + x[1:]})
		}
		return out
	}
	names := func(ms []gossip.Member) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name+"@"+m.Addr)
		}
		return strings.Join(out, " ")
	}
	ps.withLeaving(n("n1", "n2", "n3"), t0)
	if got := names(ps.withLeaving(n("n1", "n2"), t0.Add(time.Second))); got != "n1@10.0.0.1 n2@10.0.0.2 n3@10.0.0.3" {
		t.Errorf("right after n3 left: %s", got)
	}
	if got := names(ps.withLeaving(n("n1", "n2"), t0.Add(leaveGrace+2*time.Second))); got != "n1@10.0.0.1 n2@10.0.0.2" {
		t.Errorf("after leaveGrace: %s", got)
	}
	ps.withLeaving(n("n1", "n2", "n3"), t0.Add(time.Hour))
	ps.withLeaving(n("n1", "n2"), t0.Add(time.Hour+time.Second))
	if got := names(ps.withLeaving(n("n1", "n2", "n3"), t0.Add(time.Hour+2*time.Second))); got != "n1@10.0.0.1 n2@10.0.0.2 n3@10.0.0.3" {
		t.Errorf("back: %s", got)
	}
	if len(ps.left) != 0 {
		t.Errorf("left = %v after n3 came back", ps.left)
	}
	// The leaving node itself: its drained plan has no address for it.
	self := newPeers(&Config{Node: "n3", PeerPort: 1}, func() local { return nil }, func() {})
	self.withLeaving(n("n1", "n2", "n3"), t0)
	if got := names(self.withLeaving(n("n1", "n2"), t0.Add(time.Second))); !strings.Contains(got, "n3@10.0.0.3") {
		t.Errorf("the leaving node's own inventory: %s", got)
	}
}
