package reconciler

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// ord is an ordinal a node runs: its revision and whether it is ready
// (and available).
type ord struct {
	i     int
	rev   string
	ready bool
}

// setDesired is node self's part of a StatefulSet db at revision rev
// whose ordinals the plan places on nodes (placed[i] runs ordinal i),
// over an inventory n1, n2, n3.
func setDesired(self, rev string, s plan.Strategy, placed []string, peers map[string]PeerReadiness) Desired {
	w := plan.Workload{Kind: "StatefulSet", Namespace: "default", Name: "db", Revision: rev, Replicas: int32(len(placed)), Strategy: s}
	d := Desired{Node: self, Workloads: []plan.Workload{w}, Peers: peers,
		Nodes:    []plan.Node{{Name: "n1"}, {Name: "n2"}, {Name: "n3"}},
		Ordinals: map[string]map[int]string{w.Key(): {}}}
	for i, n := range placed {
		d.Ordinals[w.Key()][i] = n
		if n == self {
			d.Pods = append(d.Pods, setPod(rev, i))
		}
	}
	return d
}

func setPod(rev string, i int) plan.Pod {
	p := mkPod("StatefulSet", "db", rev, i)
	p.Name = fmt.Sprintf("db-%d", i)
	p.Labels = map[string]string{"app": "db", labelPodIndex: strconv.Itoa(i)}
	p.Hash = "h-" + rev + "-" + p.Name
	return p
}

// runsOrdinals is what a node runs of db.
func runsOrdinals(os ...ord) nodes.NodeState {
	var st nodes.NodeState
	for _, o := range os {
		p := setPod(o.rev, o.i)
		st.Pods = append(st.Pods, nodes.PodStatus{Namespace: "default", Name: p.Name, Labels: p.Labels, Owner: p.Owner,
			Revision: o.rev, Hash: p.Hash, ConfigHash: p.ConfigHash, Phase: nodes.PhaseRunning, Ready: o.ready, ReadySince: t0.Add(-time.Hour)})
	}
	return st
}

// tells is a node's word for db at revision rev.
func tells(rev string, os ...ord) PeerReadiness {
	pw := PeerWorkload{Revision: rev}
	for _, o := range os {
		pw.Ordinals = append(pw.Ordinals, PeerOrdinal{Ordinal: o.i, Ready: o.ready, Available: o.ready, Current: o.rev == rev})
	}
	return PeerReadiness{Reachable: true, Workloads: map[string]PeerWorkload{"StatefulSet/default/db": pw}}
}

// A StatefulSet spread over nodes keeps its order across them: each node
// waits for what the others tell of their ordinals, and by time for a
// node it has no word from.
func TestStatefulSetOrderAcrossNodes(t *testing.T) {
	par := ordered
	par.PodManagementPolicy = "Parallel"
	spread := []string{"n1", "n2", "n3"}
	type change struct{ creates, removes []string }
	cases := []struct {
		name    string
		s       plan.Strategy
		rev     string
		placed  []string
		peers   map[string]PeerReadiness
		here    []ord
		rollout *Rollout // this node's record of the set
		waiting time.Duration
		top     int // the record's Spread
		want    change
		message string // a part of the record's message
	}{
		// Creation: db-1 on n2 once db-0 on n1 runs and is ready.
		{name: "create after a ready lower ordinal", s: ordered, rev: "a", placed: spread,
			peers: map[string]PeerReadiness{"n1": tells("a", ord{0, "a", true}), "n3": tells("a")},
			want:  change{creates: []string{"db-1"}}},
		{name: "lower ordinal not ready", s: ordered, rev: "a", placed: spread,
			peers:   map[string]PeerReadiness{"n1": tells("a", ord{0, "a", false}), "n3": tells("a")},
			message: "db-1 waits for db-0 on n1 to run and be ready"},
		{name: "lower ordinal missing", s: ordered, rev: "a", placed: spread,
			peers:   map[string]PeerReadiness{"n1": tells("a"), "n3": tells("a")},
			message: "db-1 waits for db-0 on n1"},
		{name: "lower ordinal's node failed", s: ordered, rev: "a", placed: spread,
			peers:   map[string]PeerReadiness{"n1": {}, "n3": tells("a")},
			message: "(no word from n1)"},
		{name: "no gossip: waits a turn", s: ordered, rev: "a", placed: spread,
			message: "db-1 is created at 2026-11-25T12:00:45Z (no word from n1)"},
		{name: "no gossip: its turn came", s: ordered, rev: "a", placed: spread, waiting: 16 * time.Second,
			want: change{creates: []string{"db-1"}}},
		{name: "a higher ordinal does not hold a lower one", s: ordered, rev: "a", placed: spread,
			peers: map[string]PeerReadiness{"n1": tells("a", ord{0, "a", true}), "n3": tells("a", ord{2, "a", false})},
			want:  change{creates: []string{"db-1"}}},
		{name: "parallel waits for nothing", s: par, rev: "a", placed: spread,
			want: change{creates: []string{"db-1"}}},
		{name: "ordinal still runs on another node", s: par, rev: "a", placed: spread,
			peers:   map[string]PeerReadiness{"n1": tells("a"), "n3": tells("a", ord{1, "a", true})},
			message: "db-1 waits for its pod on n3 to be gone"},
		{name: "a later ordinal waits for one that still runs elsewhere", s: ordered, rev: "a", placed: []string{"n1", "n2", "n2"},
			peers:   map[string]PeerReadiness{"n1": tells("a", ord{0, "a", true}), "n3": tells("a", ord{1, "a", true})},
			message: "db-1 waits for its pod on n3 to be gone"},
		{name: "one node: as before", s: ordered, rev: "a", placed: []string{"n2", "n2"},
			want: change{creates: []string{"db-0", "db-1"}[:1]}},

		// A drain moves db-1 from n2 to n1: it goes at once, even
		// unready, and whatever the set's health (n1 creates it once it
		// is gone; held, each node would wait for the other).
		{name: "a moved ordinal goes at once", s: ordered, rev: "a", placed: []string{"n1", "n1", "n1"},
			peers: map[string]PeerReadiness{"n1": tells("a", ord{0, "a", true}), "n3": tells("a", ord{2, "a", false})},
			here:  []ord{{1, "a", false}}, want: change{removes: []string{"db-1"}}},

		// Scale down to one: db-2 on n3 goes before db-1 on n2.
		{name: "scale down waits for a higher ordinal", s: ordered, rev: "a", placed: []string{"n1"},
			peers: map[string]PeerReadiness{"n1": tells("a", ord{0, "a", true}), "n3": tells("a", ord{2, "a", true})},
			here:  []ord{{1, "a", true}}, message: "db-1 waits for db-2 on n3 to be gone"},
		{name: "scale down once the higher one is gone", s: ordered, rev: "a", placed: []string{"n1"},
			peers: map[string]PeerReadiness{"n1": tells("a", ord{0, "a", true}), "n3": tells("a")},
			here:  []ord{{1, "a", true}}, want: change{removes: []string{"db-1"}}},
		{name: "scale down waits for the set to be ready", s: ordered, rev: "a", placed: []string{"n1"},
			peers: map[string]PeerReadiness{"n1": tells("a", ord{0, "a", false}), "n3": tells("a")},
			here:  []ord{{1, "a", true}}, message: "waits for db-0 on n1 to run and be ready"},
		{name: "scale down without word waits its turns", s: ordered, rev: "a", placed: []string{"n1"}, top: 3, waiting: 16 * time.Second,
			here: []ord{{1, "a", true}}, message: "db-1 is removed at 2026-11-25T12:00:44Z (no word from n1, n3)"},
		{name: "scale down without word, turns over", s: ordered, rev: "a", placed: []string{"n1"}, top: 3, waiting: 31 * time.Second,
			here: []ord{{1, "a", true}}, want: change{removes: []string{"db-1"}}},
		{name: "scale down of a set on this node waits for no one", s: ordered, rev: "a", placed: []string{"n2"},
			here: []ord{{0, "a", true}, {1, "a", true}}, want: change{removes: []string{"db-1"}}},
		{name: "parallel scale down at once", s: par, rev: "a", placed: []string{"n1"},
			peers: map[string]PeerReadiness{"n1": tells("a", ord{0, "a", true}), "n3": tells("a", ord{2, "a", true})},
			here:  []ord{{1, "a", true}}, want: change{removes: []string{"db-1"}}},

		// Rolling update to b: db-2 on n3, then db-1 on n2, then db-0.
		{name: "update after the higher ordinal", s: ordered, rev: "b", placed: spread,
			peers: map[string]PeerReadiness{"n1": tells("b", ord{0, "a", true}), "n3": tells("b", ord{2, "b", true})},
			here:  []ord{{1, "a", true}}, want: change{creates: []string{"db-1"}, removes: []string{"db-1"}}},
		{name: "update waits for the higher ordinal", s: ordered, rev: "b", placed: spread,
			peers: map[string]PeerReadiness{"n1": tells("b", ord{0, "a", true}), "n3": tells("b", ord{2, "a", true})},
			here:  []ord{{1, "a", true}}, message: "db-1 waits for db-2 on n3 to run revision b"},
		{name: "update waits for a node on an older plan", s: ordered, rev: "b", placed: spread,
			peers: map[string]PeerReadiness{"n1": tells("a", ord{0, "a", true}), "n3": tells("a", ord{2, "a", true})},
			here:  []ord{{1, "a", true}}, message: "db-1 waits for db-2 on n3 to run revision b"},
		{name: "update waits while the higher ordinal is unavailable", s: par, rev: "b", placed: spread,
			peers: map[string]PeerReadiness{"n1": tells("b", ord{0, "a", true}), "n3": tells("b", ord{2, "b", false})},
			here:  []ord{{1, "a", true}}},
		{name: "update below the partition waits for nobody", s: func() plan.Strategy { s := ordered; s.Partition = 2; return s }(), rev: "b", placed: spread,
			peers: map[string]PeerReadiness{"n1": tells("b", ord{0, "a", true}), "n3": tells("b", ord{2, "b", true})},
			here:  []ord{{1, "a", true}}},
		{name: "update without word waits its turns", s: ordered, rev: "b", placed: spread,
			here: []ord{{1, "a", true}}, message: "db-1 is updated at", waiting: 16 * time.Second},
		{name: "update without word, turns over", s: ordered, rev: "b", placed: spread,
			here: []ord{{1, "a", true}}, waiting: 31 * time.Second, want: change{creates: []string{"db-1"}, removes: []string{"db-1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := setDesired("n2", c.rev, c.s, c.placed, c.peers)
			if c.name == "one node: as before" {
				d.Nodes, d.Ordinals = d.Nodes[1:2], nil
			}
			st := State{Now: t0, Rollouts: map[string]Rollout{}}
			r := Rollout{Revision: c.rev, Phase: PhaseProgressing, Started: t0.Add(-time.Hour)}
			if c.rev == "b" {
				r.Stable = "a"
			}
			if c.waiting > 0 {
				r.Waiting = t0.Add(-c.waiting)
			}
			r.Spread = c.top
			st.Rollouts["StatefulSet/default/db"] = r
			var got change
			var rec *Rollout
			for _, a := range Diff(d, runsOrdinals(c.here...), st) {
				name := strings.TrimPrefix(a.Key, "default/")
				switch a.Kind {
				case ActCreate:
					got.creates = append(got.creates, name)
				case ActRemove:
					got.removes = append(got.removes, name)
				case ActRecord:
					if ro, ok := a.Record.Value.(Rollout); ok {
						rec = &ro
					}
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("creates %v removes %v, want %v %v", got.creates, got.removes, c.want.creates, c.want.removes)
			}
			msg := r.Message
			if rec != nil {
				msg = rec.Message
			}
			if c.message != "" && !strings.Contains(msg, c.message) {
				t.Errorf("message %q, want it to say %q", msg, c.message)
			}
			if c.message == "" && msg != "" {
				t.Errorf("message %q, want none", msg)
			}
		})
	}
}

// A node starts waiting on the nodes without word when a decision needs
// them, keeps the time in its record (a restart does not start the
// turns again), wakes when a turn ends, and forgets it once nothing
// waits.
func TestStatefulSetOrderWaiting(t *testing.T) {
	d := setDesired("n3", "a", ordered, []string{"n1", "n2", "n3"}, nil)
	st := State{Now: t0, Rollouts: map[string]Rollout{}}
	var rec Rollout
	for _, a := range Diff(d, nodes.NodeState{}, st) {
		if a.Kind == ActCreate {
			t.Fatalf("db-2 created with no word from n1 and n2: %v", a)
		}
		if ro, ok := a.Record.Value.(Rollout); a.Kind == ActRecord && ok {
			rec = ro
		}
	}
	if !rec.Waiting.Equal(t0) || !strings.Contains(rec.Message, "db-2 is created at 2026-11-25T12:01:00Z (no word from n1, n2)") {
		t.Fatalf("record %+v, want waiting since t0 for two turns", rec)
	}
	st.Rollouts["StatefulSet/default/db"] = rec
	if w := Wake(d, nodes.NodeState{}, st); !w.Equal(t0.Add(DaemonSetStep)) {
		t.Fatalf("wake %v, want the end of the first turn", w)
	}
	st.Now = t0.Add(2 * DaemonSetStep)
	acts := Diff(d, nodes.NodeState{}, st)
	if !slices.ContainsFunc(acts, func(a Action) bool { return a.Kind == ActCreate && a.Key == "default/db-2" }) {
		t.Fatalf("db-2 not created after two turns: %v", acts)
	}
	// Once it runs, nothing waits any more.
	st.Now = st.Now.Add(time.Second)
	for _, a := range Diff(d, runsOrdinals(ord{2, "a", true}), st) {
		if ro, ok := a.Record.Value.(Rollout); a.Kind == ActRecord && ok && (!ro.Waiting.IsZero() || ro.Message != "") {
			t.Fatalf("record %+v, want no wait left", ro)
		}
	}
}

// What a node tells of its ordinals reads back the same; malformed
// words are refused.
func TestOrdinalsWire(t *testing.T) {
	os := []PeerOrdinal{{Ordinal: 0, Ready: true, Available: true, Current: true}, {Ordinal: 7}, {Ordinal: 300, Current: true}}
	got, err := DecodeOrdinals(EncodeOrdinals(os))
	if err != nil || !reflect.DeepEqual(got, os) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	for _, bad := range []string{"\x00", "\x00\x09", "\xff", "\xff\xff\xff\xff\xff\x01\x00"} {
		if _, err := DecodeOrdinals(bad); err == nil {
			t.Errorf("DecodeOrdinals(%q) read a malformed word", bad)
		}
	}
}

// SetPlacement names the node of each ordinal of each set.
func TestSetPlacement(t *testing.T) {
	p := &plan.Plan{Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}}, {Node: plan.Node{Name: "n2"}}}}
	for i, n := range []int{0, 1, 0} {
		pod := setPod("a", i)
		p.Nodes[n].Pods = append(p.Nodes[n].Pods, pod)
	}
	one := mkPod("StatefulSet", "solo", "a", 0)
	one.Labels = map[string]string{labelPodIndex: "0"}
	p.Nodes[1].Pods = append(p.Nodes[1].Pods, one)
	want := map[string]map[int]string{"StatefulSet/default/db": {0: "n1", 1: "n2", 2: "n1"}, "StatefulSet/default/solo": {0: "n2"}}
	if got := SetPlacement(p); !reflect.DeepEqual(got, want) {
		t.Fatalf("placement %v, want %v", got, want)
	}
}

// A node of a plan with several nodes tells its ordinals of each
// StatefulSet with its rollout: ready, available and current.
func TestLocalProgressOrdinals(t *testing.T) {
	e := newEnv(t)
	set := mkSet("a", 2, ordered)
	p := mkPlan("r1", []deploy{set})
	p.Nodes = append(p.Nodes, plan.NodePlan{Node: plan.Node{Name: "n2"}})
	for range 3 {
		e.pass(p)
	}
	got := e.rec.LocalProgress()["StatefulSet/default/web"]
	want := []PeerOrdinal{{Ordinal: 0, Ready: true, Available: true, Current: true}, {Ordinal: 1, Ready: true, Available: true, Current: true}}
	if got.Revision != "a" || !reflect.DeepEqual(got.Ordinals, want) {
		t.Fatalf("told %+v, want revision a with %v", got, want)
	}
}

// A node keeps where a spread set ended while its scale down runs
// here, so that turns count down from there after a restart too.
func TestStatefulSetOrderSpreadRecord(t *testing.T) {
	spreadOf := func(d Desired, obs nodes.NodeState, st State) int {
		for _, a := range Diff(d, obs, st) {
			if ro, ok := a.Record.Value.(Rollout); a.Kind == ActRecord && ok {
				return ro.Spread
			}
		}
		return st.Rollouts["StatefulSet/default/db"].Spread
	}
	st := State{Now: t0, Rollouts: map[string]Rollout{"StatefulSet/default/db": {Revision: "a", Phase: PhaseComplete, Available: 1}}}
	three := setDesired("n2", "a", ordered, []string{"n1", "n2", "n3"}, nil)
	if got := spreadOf(three, runsOrdinals(ord{1, "a", true}), st); got != 3 {
		t.Fatalf("spread %d, want 3", got)
	}
	st.Rollouts["StatefulSet/default/db"] = Rollout{Revision: "a", Phase: PhaseComplete, Available: 1, Spread: 3}
	one := setDesired("n2", "a", ordered, []string{"n1"}, nil)
	if got := spreadOf(one, runsOrdinals(ord{1, "a", true}), st); got != 3 {
		t.Fatalf("spread %d while db-1 is condemned here, want 3 kept", got)
	}
	if got := spreadOf(one, nodes.NodeState{}, st); got != 1 {
		t.Fatalf("spread %d once db-1 is gone, want 1", got)
	}
}

// BenchmarkDiffSpreadStatefulSets is one diff pass of a converged node
// of a 100-node inventory that runs its share of 300 StatefulSets of
// three ordinals each, one per node, with every other node's word for
// every set.
func BenchmarkDiffSpreadStatefulSets(b *testing.B) {
	const nodeCount, sets = 100, 300
	var inv []plan.Node
	for n := range nodeCount {
		inv = append(inv, plan.Node{Name: fmt.Sprintf("n%03d", n)})
	}
	d := Desired{Node: "n000", Nodes: inv, Peers: map[string]PeerReadiness{}, Ordinals: map[string]map[int]string{}}
	st := State{Now: t0, Rollouts: map[string]Rollout{}}
	var obs nodes.NodeState
	for k := range sets {
		w := plan.Workload{Kind: "StatefulSet", Namespace: "default", Name: fmt.Sprintf("s%d", k), Revision: "a", Replicas: 3, Strategy: ordered}
		d.Workloads = append(d.Workloads, w)
		d.Ordinals[w.Key()] = map[int]string{}
		st.Rollouts[w.Key()] = Rollout{Revision: "a", Phase: PhaseComplete, Started: t0, LastProgress: t0}
		for i := range 3 {
			node := inv[(k+i)%nodeCount].Name
			d.Ordinals[w.Key()][i] = node
			if node == d.Node {
				p := setPod("a", i)
				p.Name, p.Owner.Name = fmt.Sprintf("s%d-%d", k, i), w.Name
				d.Pods = append(d.Pods, p)
				obs.Pods = append(obs.Pods, nodes.PodStatus{Namespace: "default", Name: p.Name, Labels: p.Labels, Owner: p.Owner,
					Revision: "a", Hash: p.Hash, ConfigHash: p.ConfigHash, Phase: nodes.PhaseRunning, Ready: true, ReadySince: t0.Add(-time.Hour)})
			}
		}
	}
	for _, n := range inv[1:] {
		pr := PeerReadiness{Reachable: true, Workloads: map[string]PeerWorkload{}}
		for k := range sets {
			w := &d.Workloads[k]
			pw := PeerWorkload{Revision: "a", Done: true}
			for i := range 3 {
				if d.Ordinals[w.Key()][i] == n.Name {
					pw.Ordinals = append(pw.Ordinals, PeerOrdinal{Ordinal: i, Ready: true, Available: true, Current: true})
				}
			}
			pr.Workloads[w.Key()] = pw
		}
		d.Peers[n.Name] = pr
	}
	for k, r := range st.Rollouts {
		for _, p := range d.Pods {
			if ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name) == k {
				r.Available++
			}
		}
		r.Spread = 3 // every set has ordinals on other nodes
		st.Rollouts[k] = r
	}
	st.History = map[string]RevisionHistory{}
	for _, a := range Diff(d, obs, st) {
		if h, ok := a.Record.Value.(RevisionHistory); a.Kind == ActRecord && ok {
			st.History[a.Record.Key] = h
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if as := Diff(d, obs, st); len(as) != 0 {
			b.Fatalf("not converged: %+v", as[0])
		}
	}
}
