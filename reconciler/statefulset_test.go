package reconciler

import (
	"fmt"
	"strconv"
	"testing"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/store"
)

// mkSet is a StatefulSet of n ordinals web-0.. at revision rev.
func mkSet(rev string, n int, s plan.Strategy) deploy {
	d := deploy{w: plan.Workload{Kind: "StatefulSet", Namespace: "default", Name: "web", Revision: rev, Replicas: int32(n), Strategy: s}}
	for i := range n {
		p := mkPod("StatefulSet", "web", rev, i)
		p.Name = fmt.Sprintf("web-%d", i)
		p.Labels = map[string]string{"app": "web", labelPodIndex: strconv.Itoa(i)}
		p.Hash = "h-" + rev + "-" + p.Name
		d.pods = append(d.pods, p)
	}
	return d
}

func (e *env) hashes(names ...string) []string {
	var out []string
	for _, n := range names {
		p, _ := e.rt.Pod("default/" + n)
		out = append(out, p.Hash)
	}
	return out
}

var ordered = plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1, PodManagementPolicy: "OrderedReady"}

// OrderedReady creates web-0, then web-1 once web-0 is ready, and so
// on; scaling down removes the highest ordinal first, one per pass.
func TestStatefulSetOrdered(t *testing.T) {
	e := newEnv(t)
	e.rt.AutoReady = false
	p := mkPlan("r1", []deploy{mkSet("a", 3, ordered)})
	for _, want := range [][]string{{"web-0"}, {"web-0", "web-1"}, {"web-0", "web-1", "web-2"}} {
		e.pass(p)
		e.want("web-", want...)
		e.pass(p) // not ready: nothing more
		e.want("web-", want...)
		e.rt.SetAllReady("web-")
	}
	e.pass(p)
	if ro := e.rollout("StatefulSet/default/web"); ro.Phase != PhaseComplete || ro.Available != 3 {
		t.Fatalf("rollout %+v, want Complete with 3 available", ro)
	}
	down := mkPlan("r2", []deploy{mkSet("a", 1, ordered)})
	e.pass(down)
	e.want("web-", "web-0", "web-1")
	e.pass(down)
	e.want("web-", "web-0")
}

// Parallel creates and removes every ordinal at once.
func TestStatefulSetParallel(t *testing.T) {
	e := newEnv(t)
	e.rt.AutoReady = false
	s := ordered
	s.PodManagementPolicy = "Parallel"
	e.pass(mkPlan("r1", []deploy{mkSet("a", 3, s)}))
	e.want("web-", "web-0", "web-1", "web-2")
	e.pass(mkPlan("r2", []deploy{mkSet("a", 0, s)}))
	e.want("web-")
}

// A rolling update replaces the highest ordinal first, waits for it to
// be ready, and stops at the partition.
func TestStatefulSetRollingPartition(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.pass(mkPlan("r1", []deploy{mkSet("a", 3, ordered)}))
	}
	e.want("web-", "web-0", "web-1", "web-2")
	e.rt.AutoReady = false
	s := ordered
	s.Partition = 1
	p := mkPlan("r2", []deploy{mkSet("b", 3, s)})
	e.pass(p)
	if got := e.hashes("web-0", "web-1", "web-2"); got[2] != "h-b-web-2" || got[1] != "h-a-web-1" {
		t.Fatalf("after one pass: %v, want web-2 updated first", got)
	}
	e.pass(p) // web-2 not ready: web-1 waits
	if got := e.hashes("web-1"); got[0] != "h-a-web-1" {
		t.Fatalf("web-1 updated before web-2 was ready: %v", got)
	}
	e.rt.SetAllReady("web-")
	e.pass(p)
	e.rt.SetAllReady("web-")
	e.pass(p)
	e.pass(p)
	if got := e.hashes("web-0", "web-1", "web-2"); got[0] != "h-a-web-0" || got[1] != "h-b-web-1" || got[2] != "h-b-web-2" {
		t.Fatalf("after the rollout: %v, want web-0 kept by the partition", got)
	}
}

// OnDelete keeps old ordinals until they are deleted.
func TestStatefulSetOnDelete(t *testing.T) {
	e := newEnv(t)
	s := plan.Strategy{Type: "OnDelete", PodManagementPolicy: "OrderedReady"}
	e.pass(mkPlan("r1", []deploy{mkSet("a", 2, s)}))
	e.pass(mkPlan("r1", []deploy{mkSet("a", 2, s)}))
	p := mkPlan("r2", []deploy{mkSet("b", 2, s)})
	e.pass(p)
	if got := e.hashes("web-0", "web-1"); got[0] != "h-a-web-0" || got[1] != "h-a-web-1" {
		t.Fatalf("OnDelete replaced pods: %v", got)
	}
}

// A daemon killed in the middle of a StatefulSet's rolling update
// resumes where it was: the updated ordinal is not touched again, the
// next one down is updated, and each ordinal name exists once.
func TestStatefulSetResume(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	var db *store.DB
	e.restart(dir, &db)
	defer func() { db.Close() }()
	for range 3 {
		e.pass(mkPlan("r1", []deploy{mkSet("a", 3, ordered)}))
	}
	e.rt.AutoReady = false
	p := mkPlan("r2", []deploy{mkSet("b", 3, ordered)})
	e.pass(p)
	if got := e.hashes("web-2"); got[0] != "h-b-web-2" {
		t.Fatalf("web-2 not updated first: %v", got)
	}
	e.rt.Calls()

	e.restart(dir, &db)
	e.pass(p) // web-2 is not ready yet: nothing moves
	if calls := e.rt.Calls(); len(calls) != 0 {
		t.Fatalf("a restarted daemon acted before web-2 was ready: %v", calls)
	}
	e.rt.SetAllReady("web-")
	e.pass(p)
	for _, c := range e.rt.Calls() {
		if c.Key == "default/web-2" {
			t.Fatalf("the updated ordinal was touched again: %v", c)
		}
	}
	if got := e.hashes("web-0", "web-1", "web-2"); got[0] != "h-a-web-0" || got[1] != "h-b-web-1" || got[2] != "h-b-web-2" {
		t.Fatalf("after the restart: %v, want web-1 updated next", got)
	}
	e.want("web-", "web-0", "web-1", "web-2")
}
