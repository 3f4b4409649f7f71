package reconciler

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/fake"
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

func (s *slowStops) RemovePod(ctx context.Context, key string) error {
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
	return s.Runtime.RemovePod(ctx, key)
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
