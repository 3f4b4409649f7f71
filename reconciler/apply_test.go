package reconciler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// TestApplyIsOnePassOfTheLoop: Apply hands the plan to Run's loop and
// gets back the result of the pass the loop ran for it (a failure
// included, for the caller to report); the loop keeps the plan for the
// passes that follow.
func TestApplyIsOnePassOfTheLoop(t *testing.T) {
	e := newEnv(t)
	e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", Resync: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.rec.Run(ctx, nil) }()

	d := mkDeploy("Deployment", "web", "a", 1, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})
	p := mkPlan("r1", []deploy{d})
	e.rt.FailPull("img:a", "registry unreachable")
	if _, err := e.rec.Apply(ctx, p); err == nil || !strings.Contains(err.Error(), "registry unreachable") {
		t.Fatalf("Apply = %v; want the pass's failure", err)
	}
	e.rt.FailPull("img:a", "")
	e.clock.Advance(5 * time.Second)
	res, err := e.rec.Apply(ctx, p)
	if err != nil || res.Revision != "r1" || res.Failed != 0 {
		t.Fatalf("second Apply = %+v, %v", res, err)
	}
	e.want("web-", "web-a-0")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if _, err := e.rec.Apply(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply without a loop = %v, want the context's end", err)
	}
}

// observeCounter counts the node's observations: one per pass.
type observeCounter struct {
	Runtime
	mu sync.Mutex
	n  int
}

func (c *observeCounter) Observe(ctx context.Context) (nodes.NodeState, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Runtime.Observe(ctx)
}

func (c *observeCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestOnePassPerApplyOneResyncTimer: an Apply is one pass of Run's loop
// (one result told to OnPass; on a node that needs nothing, one Observe
// and one diff), and the passes that follow without a new plan come from
// Run's resync timer alone, each after OnResync with the plan it runs.
func TestOnePassPerApplyOneResyncTimer(t *testing.T) {
	tests := []struct {
		name    string
		resync  time.Duration
		resyncs int // resync passes to wait for after the Applies
	}{
		{"no resync due", time.Hour, 0},
		{"three resyncs", 20 * time.Millisecond, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rt := &observeCounter{Runtime: e.rt}
			var mu sync.Mutex
			var passes, resyncs int
			var resynced *plan.Plan
			counts := func() (int, int, *plan.Plan) { mu.Lock(); defer mu.Unlock(); return passes, resyncs, resynced }
			e.rec = New(Options{Runtime: rt, Router: e.router, Clock: e.clock, Node: "n1",
				Resync: tt.resync, WaitingPoll: time.Hour,
				OnPass: func(Result, time.Duration, error) { mu.Lock(); passes++; mu.Unlock() },
				OnResync: func(_ context.Context, p *plan.Plan) {
					mu.Lock()
					resyncs++
					resynced = p
					mu.Unlock()
				}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- e.rec.Run(ctx, nil) }()
			defer func() { cancel(); <-done }()

			p := mkPlan("r1", []deploy{mkDeploy("Deployment", "web", "a", 1, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})})
			if _, err := e.rec.Apply(ctx, p); err != nil {
				t.Fatal(err)
			}
			e.want("web-", "web-a-0")
			// The same plan again, on a node that has it: one pass, one
			// observation (the pass may record progress, the rollout's
			// end; a resync may pass in between: count it).
			obs0 := rt.count()
			_, r0, _ := counts()
			res, err := e.rec.Apply(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range res.Actions {
				if a.Kind != ActRecord {
					t.Fatalf("second Apply = %+v; want no pod touched", res)
				}
			}
			if _, r1, _ := counts(); rt.count()-obs0 != 1+(r1-r0) {
				t.Fatalf("the second Apply observed the node %d times (%d resyncs meanwhile), want once", rt.count()-obs0, r1-r0)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				np, nr, last := counts()
				if nr >= tt.resyncs {
					if tt.resyncs > 0 && last != p {
						t.Fatalf("OnResync got plan %v, want the applied one", last)
					}
					// Every pass is an Apply's or a resync's: no other
					// timer runs one.
					if np != 2+nr {
						t.Fatalf("%d passes for 2 applies and %d resyncs", np, nr)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d resyncs after 10 s, want %d", nr, tt.resyncs)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
