package reconciler

import (
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
)

func TestWake(t *testing.T) {
	e := newEnv(t)
	e.pass(canaryPlan("a", canarySteps...))
	p := canaryPlan("b", canarySteps...)
	e.pass(p)
	if res := e.pass(p); !res.Wake.IsZero() && res.Wake.Before(t0.Add(2*time.Minute)) {
		t.Fatalf("paused until promote, wake = %v", res.Wake)
	}
	if err := e.rec.Promote("web"); err != nil {
		t.Fatal(err)
	}
	e.pass(p)
	e.clock.Advance(5 * time.Second)
	res := e.pass(p) // step 3: pause 60s from now
	if want := e.clock.Now().Add(60 * time.Second); !res.Wake.Equal(want) {
		t.Fatalf("wake = %v, want %v", res.Wake, want)
	}

	e2 := newEnv(t)
	ttl := int32(30)
	jp := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 1, BackoffLimit: 3, TTLSecondsAfterFinished: &ttl})
	e2.pass(jp)
	e2.rt.Exit("default/batch-abcde-0", 1)
	if res := e2.pass(jp); !res.Wake.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("job back-off wake = %v", res.Wake)
	}
}
