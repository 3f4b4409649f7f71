package reconciler

import (
	"slices"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
)

// TestRollingUpdateSequence: 4 replicas, maxSurge 1, maxUnavailable 0.
// Each pass is one step, and a step waits for the new pod to be ready.
func TestRollingUpdateSequence(t *testing.T) {
	e := newEnv(t)
	s := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1, MaxUnavailable: 0, ProgressDeadlineSeconds: 600}
	a := mkDeploy("Deployment", "web", "a", 4, s)
	other := mkDeploy("Deployment", "db", "a", 1, s)
	e.pass(mkPlan("r1", []deploy{a, other}, mkService("web", a.pods)))
	e.want("web-", "web-a-0", "web-a-1", "web-a-2", "web-a-3")
	e.rt.Calls()

	b := mkDeploy("Deployment", "web", "b", 4, s)
	p := mkPlan("r2", []deploy{b, other}, mkService("web", b.pods))
	e.rt.AutoReady = false
	steps := [][]string{
		{"web-a-0", "web-a-1", "web-a-2", "web-a-3", "web-b-0"},
		{"web-a-1", "web-a-2", "web-a-3", "web-b-0", "web-b-1"},
		{"web-a-2", "web-a-3", "web-b-0", "web-b-1", "web-b-2"},
		{"web-a-3", "web-b-0", "web-b-1", "web-b-2", "web-b-3"},
		{"web-b-0", "web-b-1", "web-b-2", "web-b-3"},
	}
	for i, want := range steps {
		e.pass(p)
		e.want("web-", want...)
		// Not ready yet: the next pass waits.
		e.pass(p)
		e.want("web-", want...)
		if i < 4 {
			// Old pods still serve, the unready new one does not.
			be := e.backends("web")
			if _, ok := be[want[len(want)-1]]; ok {
				t.Fatalf("step %d: unready %s is a backend: %v", i, want[len(want)-1], be)
			}
			if len(be) != 4 {
				t.Fatalf("step %d: %d backends, want 4 (maxUnavailable 0): %v", i, len(be), be)
			}
		}
		e.rt.SetAllReady("web-b-")
	}
	e.pass(p)
	if ro := e.rollout(b.w.Key()); ro.Phase != PhaseComplete {
		t.Fatalf("rollout = %+v, want Complete", ro)
	}
	for _, c := range e.rt.Calls() {
		if strings.Contains(c.Key, "db-") {
			t.Fatalf("unchanged workload touched: %v", c)
		}
	}
	res := e.pass(p)
	if len(res.Actions) != 0 || !res.Converged {
		t.Fatalf("after the rollout: %+v", res)
	}
}

func TestRollingUpdateMaxUnavailable(t *testing.T) {
	e := newEnv(t)
	s := plan.Strategy{Type: "RollingUpdate", MaxSurge: 0, MaxUnavailable: 2}
	e.pass(mkPlan("r1", []deploy{mkDeploy("Deployment", "web", "a", 4, s)}))
	e.rt.AutoReady = false
	p := mkPlan("r2", []deploy{mkDeploy("Deployment", "web", "b", 4, s)})
	e.pass(p)
	e.want("web-", "web-a-2", "web-a-3", "web-b-0", "web-b-1")
	e.rt.SetAllReady("web-b-")
	e.pass(p)
	e.want("web-", "web-b-0", "web-b-1", "web-b-2", "web-b-3")
}

func TestRollingUpdateMinReadySeconds(t *testing.T) {
	e := newEnv(t)
	s := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1, MinReadySeconds: 30}
	e.pass(mkPlan("r1", []deploy{mkDeploy("Deployment", "web", "a", 1, s)}))
	e.clock.Advance(time.Minute)
	p := mkPlan("r2", []deploy{mkDeploy("Deployment", "web", "b", 1, s)})
	e.pass(p) // creates b-0, ready at once
	e.clock.Advance(10 * time.Second)
	e.pass(p)
	e.want("web-", "web-a-0", "web-b-0")
	e.clock.Advance(20 * time.Second)
	e.pass(p)
	e.want("web-", "web-b-0")
}

func TestRollingUpdateProgressDeadline(t *testing.T) {
	e := newEnv(t)
	s := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1, ProgressDeadlineSeconds: 60}
	a := mkDeploy("Deployment", "web", "a", 2, s)
	e.pass(mkPlan("r1", []deploy{a}))
	e.rt.AutoReady = false
	b := mkDeploy("Deployment", "web", "b", 2, s)
	p := mkPlan("r2", []deploy{b})
	e.pass(p)
	e.clock.Advance(61 * time.Second)
	e.pass(p)
	ro := e.rollout(b.w.Key())
	if ro.Phase != PhaseFailed || !strings.Contains(ro.Message, "progress deadline") {
		t.Fatalf("rollout = %+v, want Failed", ro)
	}
	e.rt.SetAllReady("web-b-")
	e.pass(p)
	e.want("web-", "web-a-0", "web-a-1", "web-b-0") // old pods kept
	st := e.rec.Status()
	if len(st.Workloads) != 1 || st.Workloads[0].Phase != PhaseFailed {
		t.Fatalf("status = %+v", st.Workloads)
	}
	// A new revision starts over.
	e.rt.AutoReady = true
	c := mkDeploy("Deployment", "web", "c", 2, s)
	for range 4 {
		e.pass(mkPlan("r3", []deploy{c}))
	}
	e.want("web-", "web-c-0", "web-c-1")
}

// TestRecreateGap: every old pod goes before any new one starts.
func TestRecreateGap(t *testing.T) {
	e := newEnv(t)
	s := plan.Strategy{Type: "Recreate"}
	e.pass(mkPlan("r1", []deploy{mkDeploy("Deployment", "web", "a", 3, s)}))
	p := mkPlan("r2", []deploy{mkDeploy("Deployment", "web", "b", 3, s)})
	e.rt.Calls()
	e.pass(p)
	e.want("web-") // the gap: nothing runs
	e.pass(p)
	e.want("web-", "web-b-0", "web-b-1", "web-b-2")
	// Calls of one stage run in parallel: compare each stage as a set.
	calls := e.rt.Calls()
	var got []string
	for _, c := range calls {
		got = append(got, c.String())
	}
	if len(got) != 6 {
		t.Fatalf("calls %v", got)
	}
	slices.Sort(got[:3])
	slices.Sort(got[3:])
	want := "remove default/web-a-0,remove default/web-a-1,remove default/web-a-2,create default/web-b-0,create default/web-b-1,create default/web-b-2"
	if strings.Join(got, ",") != want {
		t.Fatalf("calls %v\nwant %s", got, want)
	}
}

// TestRecreatePodDeletedBehindOurBack: replicas are kept.
func TestPodDeletedIsRecreated(t *testing.T) {
	e := newEnv(t)
	p := mkPlan("r1", []deploy{mkDeploy("Deployment", "web", "a", 2, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})})
	e.pass(p)
	e.rt.Delete("default/web-a-1")
	e.pass(p)
	e.want("web-", "web-a-0", "web-a-1")
}

func TestDaemonSetSameNameReplacement(t *testing.T) {
	e := newEnv(t)
	s := plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1}
	a := mkDeploy("DaemonSet", "agent", "a", 1, s)
	a.pods[0].Name = "agent-n1"
	e.pass(mkPlan("r1", []deploy{a}))
	b := mkDeploy("DaemonSet", "agent", "b", 1, s)
	b.pods[0].Name = "agent-n1"
	e.pass(mkPlan("r2", []deploy{b}))
	pod, ok := e.rt.Pod("default/agent-n1")
	if !ok || pod.Revision != "b" {
		t.Fatalf("agent-n1 = %+v, want revision b", pod)
	}
}

// withNodes makes p's node n1 of an inventory of three: a, n0, n1 (by
// name, n1 ranks third).
func withNodes(p *plan.Plan) *plan.Plan {
	p.Nodes[0].Node.Name = "n1"
	p.Nodes = append(p.Nodes, plan.NodePlan{Node: plan.Node{Name: "n0"}}, plan.NodePlan{Node: plan.Node{Name: "a"}})
	return daemonSetOnAll(p)
}

// daemonSetOnAll gives p's DaemonSets every node of its inventory, as
// the compiler would for a DaemonSet that every node fits.
func daemonSetOnAll(p *plan.Plan, except ...string) *plan.Plan {
	var names []string
	for _, n := range p.Nodes {
		if !slices.Contains(except, n.Node.Name) {
			names = append(names, n.Node.Name)
		}
	}
	slices.Sort(names)
	for i := range p.Workloads {
		if p.Workloads[i].Kind == "DaemonSet" {
			p.Workloads[i].Nodes = names
		}
	}
	return p
}

// TestDaemonSetRanksThePlansNodes: the nodes a DaemonSet runs on are the
// plan's (compiled from nodeSelector, node affinity and taints), never
// matched again on the node: with node "a" left out (a taint, say), n1
// ranks second of n0, n1 and goes after one turn, not two.
func TestDaemonSetRanksThePlansNodes(t *testing.T) {
	s := plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1}
	e := newEnv(t)
	a := mkDeploy("DaemonSet", "agent", "a", 1, s)
	a.pods[0].Name = "agent-n1"
	e.pass(daemonSetOnAll(withNodes(mkPlan("r1", []deploy{a})), "a"))
	b := mkDeploy("DaemonSet", "agent", "b", 1, s)
	b.pods[0].Name = "agent-n1"
	p2 := daemonSetOnAll(withNodes(mkPlan("r2", []deploy{b})), "a")
	e.pass(p2)
	e.clock.Advance(DaemonSetStep + DaemonSetStep/2)
	e.pass(p2)
	e.pass(p2)
	if pod, _ := e.rt.Pod("default/agent-n1"); pod.Revision != "b" {
		t.Fatalf("after 1.5 turns agent-n1 is at revision %q, want b (second of the plan's two nodes)", pod.Revision)
	}
}

// TestDaemonSetTakesTurnsAcrossNodes: with an inventory of three nodes and
// maxUnavailable 1, the third node (by name) replaces its DaemonSet pod
// two turns after it saw the new revision, not at once.
func TestDaemonSetTakesTurnsAcrossNodes(t *testing.T) {
	s := plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1}
	e := newEnv(t) // this node is n1: rank 2 of a, n0, n1
	a := mkDeploy("DaemonSet", "agent", "a", 1, s)
	a.pods[0].Name = "agent-n1"
	e.pass(withNodes(mkPlan("r1", []deploy{a})))
	b := mkDeploy("DaemonSet", "agent", "b", 1, s)
	b.pods[0].Name = "agent-n1"
	p2 := withNodes(mkPlan("r2", []deploy{b}))
	e.pass(p2)
	e.clock.Advance(DaemonSetStep + DaemonSetStep/2) // one turn and a half: still waiting
	e.pass(p2)
	if pod, _ := e.rt.Pod("default/agent-n1"); pod.Revision != "a" {
		t.Fatalf("after 1.5 turns agent-n1 is at revision %q, want a (this node's turn is the third)", pod.Revision)
	}
	e.clock.Advance(DaemonSetStep)
	e.pass(p2)
	e.pass(p2)
	if pod, _ := e.rt.Pod("default/agent-n1"); pod.Revision != "b" {
		t.Fatalf("after 2.5 turns agent-n1 is at revision %q, want b", pod.Revision)
	}
}

// peerView is a fixed answer to Options.Peers.
type peerView map[string]PeerReadiness

func (p peerView) Peers() map[string]PeerReadiness { return p }

// TestDaemonSetTurnsFollowPeers: when the nodes before this one tell
// their rollouts, this node goes as soon as they run the new revision,
// waits past its time while one of them does not, and falls back to time
// for a node it has no word from.
func TestDaemonSetTurnsFollowPeers(t *testing.T) {
	s := plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1}
	told := func(rev string, done, avail bool) PeerReadiness {
		return PeerReadiness{Reachable: true, Workloads: map[string]PeerWorkload{"DaemonSet/default/agent": {Revision: rev, Done: done, Available: avail}}}
	}
	done := func(rev string, ok bool) PeerReadiness { return told(rev, ok, ok) }
	for _, tc := range []struct {
		name    string
		peers   peerView
		advance time.Duration // after seeing the revision
		unready bool          // this node's own agent is not ready
		want    string        // agent-n1's revision
	}{
		{"both before it done: at once", peerView{"a": done("b", true), "n0": done("b", true)}, 0, false, "b"},
		{"n0 still rolling: waits past its time", peerView{"a": done("b", true), "n0": done("b", false)}, 10 * DaemonSetStep, false, "a"},
		{"n0 on the old revision: waits", peerView{"a": done("b", true), "n0": done("a", true)}, 10 * DaemonSetStep, false, "a"},
		{"no word from n0: its time, not yet", peerView{"a": done("b", true)}, DaemonSetStep, false, "a"},
		{"no word from n0: its time has come", peerView{"a": done("b", true), "n0": {}}, 2*DaemonSetStep + time.Second, false, "b"},
		// maxUnavailable across the inventory: a's agent went down after
		// its turn; one node without a ready agent is the budget.
		{"another node has no ready pod: waits", peerView{"a": told("b", true, false), "n0": done("b", true)}, 10 * DaemonSetStep, false, "a"},
		{"its own pod is not ready: goes at once", peerView{"a": done("b", false), "n0": done("a", true)}, 0, true, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t) // this node is n1: rank 2 of a, n0, n1
			e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1,
				Peers: tc.peers})
			a := mkDeploy("DaemonSet", "agent", "a", 1, s)
			a.pods[0].Name = "agent-n1"
			e.pass(withNodes(mkPlan("r1", []deploy{a})))
			e.rt.SetAllReady("default/")
			if tc.unready {
				e.rt.SetReady("default/agent-n1", false)
			}
			b := mkDeploy("DaemonSet", "agent", "b", 1, s)
			b.pods[0].Name = "agent-n1"
			p2 := withNodes(mkPlan("r2", []deploy{b}))
			e.pass(p2)
			e.clock.Advance(tc.advance)
			e.pass(p2)
			e.pass(p2)
			if pod, _ := e.rt.Pod("default/agent-n1"); pod.Revision != tc.want {
				t.Fatalf("agent-n1 at revision %q, want %q; rollout %+v", pod.Revision, tc.want, e.rollout("DaemonSet/default/agent"))
			}
		})
	}
}

// TestDaemonSetFirstNodeCountsTheOthers: the first node (by name) has no
// node before it to wait for, but maxUnavailable still holds across the
// inventory: while another node has no ready pod of the DaemonSet, the
// first one keeps its ready pod; once that node is ready again, it goes.
func TestDaemonSetFirstNodeCountsTheOthers(t *testing.T) {
	s := plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1}
	others := func(avail bool) peerView {
		w := map[string]PeerWorkload{"DaemonSet/default/agent": {Revision: "a", Done: avail, Available: avail}}
		return peerView{"n2": {Reachable: true, Workloads: w}, "n3": {Reachable: true, Workloads: map[string]PeerWorkload{
			"DaemonSet/default/agent": {Revision: "a", Done: true, Available: true}}}}
	}
	first := func(p *plan.Plan) *plan.Plan { // n1 of n1, n2, n3: ranks first
		p.Nodes = append(p.Nodes, plan.NodePlan{Node: plan.Node{Name: "n2"}}, plan.NodePlan{Node: plan.Node{Name: "n3"}})
		return daemonSetOnAll(p)
	}
	for _, tc := range []struct {
		name  string
		avail bool // n2 has a ready agent
		want  string
	}{
		{"n2 has no ready pod: waits", false, "a"},
		{"every other node ready: goes at once", true, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1,
				Peers: others(tc.avail)})
			a := mkDeploy("DaemonSet", "agent", "a", 1, s)
			a.pods[0].Name = "agent-n1"
			e.pass(first(mkPlan("r1", []deploy{a})))
			e.rt.SetAllReady("default/")
			b := mkDeploy("DaemonSet", "agent", "b", 1, s)
			b.pods[0].Name = "agent-n1"
			p2 := first(mkPlan("r2", []deploy{b}))
			e.pass(p2)
			e.clock.Advance(10 * DaemonSetStep)
			e.pass(p2)
			e.pass(p2)
			if pod, _ := e.rt.Pod("default/agent-n1"); pod.Revision != tc.want {
				t.Fatalf("agent-n1 at revision %q, want %q; rollout %+v", pod.Revision, tc.want, e.rollout("DaemonSet/default/agent"))
			}
		})
	}
}

// TestLocalProgressAvailable: a node tells the others whether it has a
// ready pod of each workload (DaemonSets count the nodes without one).
func TestLocalProgressAvailable(t *testing.T) {
	e := newEnv(t)
	a := mkDeploy("DaemonSet", "agent", "a", 1, plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1})
	a.pods[0].Name = "agent-n1"
	p := mkPlan("r1", []deploy{a})
	e.pass(p)
	e.pass(p)
	if w := e.rec.LocalProgress()["DaemonSet/default/agent"]; !w.Available || !w.Done || w.Revision != "a" {
		t.Fatalf("ready agent: %+v", w)
	}
	e.rt.SetReady("default/agent-n1", false)
	e.pass(p)
	if w := e.rec.LocalProgress()["DaemonSet/default/agent"]; w.Available {
		t.Fatalf("unready agent told available: %+v", w)
	}
}
