package reconciler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
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
