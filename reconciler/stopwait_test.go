package reconciler

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/fake"
	"berth.dev/berth/reconciler/store"
)

// slowStops is the in-memory node where removing the pods in hold takes
// until release is closed (a pod using its grace period).
type slowStops struct {
	*fake.Runtime
	hold    map[string]bool
	release chan struct{}
	mu      sync.Mutex
	calls   map[string]int
}

func (s *slowStops) RemovePod(ctx context.Context, key string, deadline time.Time) error {
	s.mu.Lock()
	s.calls[key]++
	s.mu.Unlock()
	if s.hold[key] {
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Runtime.RemovePod(ctx, key, deadline)
}

// TestSlowStopGoesOnInTheBackground: a pod that takes long to stop holds
// up neither the pass nor the node's other workloads; it is out of its
// service at once, Recreate still waits for it, and it is removed once.
func TestSlowStopGoesOnInTheBackground(t *testing.T) {
	e := newEnv(t)
	slow := &slowStops{Runtime: e.rt, hold: map[string]bool{"default/db-a-0": true}, release: make(chan struct{}), calls: map[string]int{}}
	e.rec = New(Options{Runtime: slow, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1,
		StopWait: 20 * time.Millisecond})
	recreate := plan.Strategy{Type: "Recreate"}
	db1, web1 := mkDeploy("Deployment", "db", "a", 1, recreate), mkDeploy("Deployment", "web", "a", 1, recreate)
	dbSvc := mkService("db", db1.pods)
	e.pass(mkPlan("r1", []deploy{db1, web1}, dbSvc))
	e.rt.SetAllReady("default/")
	e.pass(mkPlan("r1", []deploy{db1, web1}, dbSvc)) // records the rollouts complete
	if res := e.pass(mkPlan("r1", []deploy{db1, web1}, dbSvc)); !res.Converged {
		t.Fatalf("r1 not converged: %v %v", res.Waiting, res.Actions)
	}
	if got := e.backends("db"); len(got) != 1 {
		t.Fatalf("db backends %v", got)
	}

	db2, web2 := mkDeploy("Deployment", "db", "b", 1, recreate), mkDeploy("Deployment", "web", "b", 1, recreate)
	p2 := mkPlan("r2", []deploy{db2, web2}, mkService("db", db2.pods))
	start := time.Now()
	res := e.pass(p2)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the pass waited %v for the slow stop", took)
	}
	if !slices.Contains(res.Waiting, "pod default/db-a-0 terminating") || res.Converged {
		t.Fatalf("waiting %v, want db-a-0 terminating", res.Waiting)
	}
	if got := e.backends("db"); len(got) != 0 {
		t.Errorf("db backends while its old pod stops: %v, want none", got)
	}
	// web goes on: its old pod went at once, the new one comes and serves.
	e.pass(p2)
	e.want("web-", "web-b-0")
	e.rt.SetReady("default/web-b-0", true)
	e.pass(p2)
	if ro := e.rollout("Deployment/default/web"); ro.Phase != PhaseComplete {
		t.Errorf("web rollout %s while db stops, want complete", ro.Phase)
	}
	// db is Recreate: nothing new while the old pod is still there.
	e.want("db-", "db-a-0")

	close(slow.release)
	e.rec.bg.Wait()
	e.pass(p2)
	e.want("db-", "db-b-0")
	e.rt.SetReady("default/db-b-0", true)
	e.pass(p2)
	if res := e.pass(p2); !res.Converged {
		t.Errorf("not converged after the stop: %v", res.Waiting)
	}
	if n := slow.calls["default/db-a-0"]; n != 1 {
		t.Errorf("db-a-0 removed %d times, want once", n)
	}
}

// TestStopResumedAfterRestart: the daemon dies while an old pod uses its
// grace period. The restarted reconciler (same store, the pod still
// running and ready) treats the pod as terminating from its first pass:
// out of the service, not available, so the rollout does not count it;
// and it issues the stop again with the deadline recorded when the stop
// began, not a new grace period.
func TestStopResumedAfterRestart(t *testing.T) {
	e := newEnv(t)
	e.rec = e.reconciler(store.NewMemory())
	rolling := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1}
	v1 := mkDeploy("Deployment", "web", "a", 2, rolling)
	for i := range v1.pods {
		v1.pods[i].Spec.TerminationGracePeriodSeconds = 30
	}
	e.pass(mkPlan("r1", []deploy{v1}, mkService("web", v1.pods)))
	e.pass(mkPlan("r1", []deploy{v1}, mkService("web", v1.pods)))

	slow := &slowStops{Runtime: e.rt, hold: map[string]bool{"default/web-a-0": true, "default/web-a-1": true},
		release: make(chan struct{}), calls: map[string]int{}}
	t.Cleanup(func() { close(slow.release) })
	first := New(Options{Runtime: slow, Router: e.router, Store: e.store, Clock: e.clock, Node: "n1",
		RetryDelay: time.Millisecond, Retries: -1, StopWait: 20 * time.Millisecond})
	v2 := mkDeploy("Deployment", "web", "b", 2, rolling)
	p2 := mkPlan("r2", []deploy{v2}, mkService("web", v2.pods))
	e.rec = first
	e.pass(p2) // surge: web-b-0
	e.rt.SetReady("default/web-b-0", true)
	e.pass(p2) // web-a-0 starts stopping, in the background
	began := e.clock.Now()
	if slow.calls["default/web-a-0"] != 1 {
		t.Fatalf("web-a-0 not being removed: %v", slow.calls)
	}
	e.want("web-", "web-a-0", "web-a-1", "web-b-0", "web-b-1") // web-a-0 terminating: room for web-b-1

	// The daemon is killed; a new one starts 10 s later on the same store.
	e.clock.Advance(10 * time.Second)
	e.rec = e.reconciler(e.store)
	res := e.pass(p2)
	if got := e.rt.Deadline("default/web-a-0"); !got.Equal(began.Add(30 * time.Second)) {
		t.Errorf("the stop resumed with deadline %v, want %v (30 s after it began)", got, began.Add(30*time.Second))
	}
	for _, k := range e.rt.Keys() {
		if k == "default/web-a-0" {
			t.Errorf("web-a-0 still there after the restart's first pass: %v", res.Actions)
		}
	}
	if got := e.backends("web"); got["web-a-0"] != 0 {
		t.Errorf("the stopping pod is back in the service after the restart: %v", got)
	}
	e.rt.SetAllReady("default/")
	for range 4 {
		e.pass(p2)
		e.rt.SetAllReady("default/")
	}
	e.want("web-", "web-b-0", "web-b-1")
	if ro := e.rollout("Deployment/default/web"); ro.Phase != PhaseComplete {
		t.Errorf("rollout %s, want Complete", ro.Phase)
	}
	e.rec.mu.Lock()
	left := len(e.rec.stops)
	e.rec.mu.Unlock()
	if left != 0 {
		t.Errorf("%d stops still recorded after they were done", left)
	}
}

// drainer records what Drain was asked, and the service's backends then.
type drainer struct {
	e     *env
	calls [][]string
	seen  []map[string]uint32
	pods  []string // pods still there when Drain ran
}

func (d *drainer) Drain(ctx context.Context, ips []string, until time.Time) (int, error) {
	d.calls = append(d.calls, ips)
	d.seen = append(d.seen, d.e.backends("web"))
	d.pods = append(d.pods, d.e.rt.Names("web-")...)
	return 0, nil
}

// TestPodDrainedBeforeStop: a pod leaving is out of the service's rules
// first, then its connections drain, then it is stopped.
func TestPodDrainedBeforeStop(t *testing.T) {
	e := newEnv(t)
	d := &drainer{e: e}
	e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1, Drainer: d})
	rolling := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1}
	v1, v2 := mkDeploy("Deployment", "web", "a", 1, rolling), mkDeploy("Deployment", "web", "b", 1, rolling)
	e.pass(mkPlan("r1", []deploy{v1}, mkService("web", v1.pods)))
	e.pass(mkPlan("r1", []deploy{v1}, mkService("web", v1.pods)))
	p2 := mkPlan("r2", []deploy{v2}, mkService("web", v2.pods))
	e.pass(p2)
	old, _ := e.rt.Pod("default/web-a-0")
	e.rt.SetReady("default/web-b-0", true)
	e.pass(p2) // web-a-0 goes
	e.want("web-", "web-b-0")
	if len(d.calls) != 1 || len(d.calls[0]) != 1 || d.calls[0][0] != old.IP {
		t.Fatalf("drained %v, want [[%s]] (web-a-0)", d.calls, old.IP)
	}
	if d.seen[0]["web-a-0"] != 0 || d.seen[0]["web-b-0"] == 0 {
		t.Errorf("backends while draining: %v, want web-b-0 only", d.seen[0])
	}
	if !slices.Contains(d.pods, "web-a-0") {
		t.Errorf("web-a-0 was stopped before its connections drained (pods then: %v)", d.pods)
	}
}
