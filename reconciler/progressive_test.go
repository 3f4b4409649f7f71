package reconciler

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
)

func w32(v int32) *int32 { return &v }

func blueGreenPlan(rev string, bg plan.BlueGreen) *plan.Plan {
	d := mkDeploy("Rollout", "web", rev, 2, plan.Strategy{Type: "BlueGreen", BlueGreen: &bg})
	return mkPlan("r-"+rev, []deploy{d}, mkService("web-active", d.pods), mkService("web-preview", d.pods))
}

func names(m map[string]uint32) []string { return slices.Sorted(maps.Keys(m)) }

func wantBackends(t *testing.T, e *env, svc string, want ...string) {
	t.Helper()
	if got := names(e.backends(svc)); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s backends = %v, want %v", svc, got, want)
	}
}

func TestBlueGreenPromoteAndAbort(t *testing.T) {
	e := newEnv(t)
	bg := plan.BlueGreen{ActiveService: "web-active", PreviewService: "web-preview", ScaleDownDelaySeconds: 30}
	e.pass(blueGreenPlan("a", bg))
	wantBackends(t, e, "web-active", "web-a-0", "web-a-1")

	p := blueGreenPlan("b", bg)
	e.pass(p)
	e.want("web-", "web-a-0", "web-a-1", "web-b-0", "web-b-1")
	wantBackends(t, e, "web-active", "web-a-0", "web-a-1")
	wantBackends(t, e, "web-preview", "web-b-0", "web-b-1")
	e.pass(p)
	if ro := e.rollout("Rollout/default/web"); ro.Phase != PhasePaused {
		t.Fatalf("rollout = %+v, want Paused for promotion", ro)
	}
	e.clock.Advance(time.Hour)
	e.pass(p) // no auto-promotion: still waiting
	wantBackends(t, e, "web-active", "web-a-0", "web-a-1")

	if err := e.rec.Promote("web"); err != nil {
		t.Fatal(err)
	}
	e.pass(p)
	wantBackends(t, e, "web-active", "web-b-0", "web-b-1")
	e.want("web-", "web-a-0", "web-a-1", "web-b-0", "web-b-1") // old kept for the delay

	e.clock.Advance(10 * time.Second)
	if err := e.rec.Abort("default/web"); err != nil {
		t.Fatal(err)
	}
	e.pass(p)
	wantBackends(t, e, "web-active", "web-a-0", "web-a-1")
	e.want("web-", "web-a-0", "web-a-1")
	if ro := e.rollout("Rollout/default/web"); ro.Phase != PhaseAborted {
		t.Fatalf("rollout = %+v, want Aborted", ro)
	}
	e.pass(p) // aborted stays aborted: the new pods do not come back
	e.want("web-", "web-a-0", "web-a-1")
	if err := e.rec.Promote("web"); err == nil {
		t.Fatal("promote of an aborted rollout: no error")
	}
}

func TestBlueGreenAutoPromotionAndScaleDown(t *testing.T) {
	e := newEnv(t)
	bg := plan.BlueGreen{ActiveService: "web-active", PreviewService: "web-preview", AutoPromotionEnabled: true, AutoPromotionSeconds: 60, ScaleDownDelaySeconds: 30}
	e.pass(blueGreenPlan("a", bg))
	p := blueGreenPlan("b", bg)
	e.pass(p)
	e.pass(p) // all new ready: the promotion clock starts
	e.clock.Advance(59 * time.Second)
	e.pass(p)
	wantBackends(t, e, "web-active", "web-a-0", "web-a-1")
	e.clock.Advance(time.Second)
	e.pass(p)
	wantBackends(t, e, "web-active", "web-b-0", "web-b-1")
	e.clock.Advance(29 * time.Second)
	e.pass(p)
	e.want("web-", "web-a-0", "web-a-1", "web-b-0", "web-b-1")
	e.clock.Advance(time.Second)
	e.pass(p)
	e.want("web-", "web-b-0", "web-b-1")
	if ro := e.rollout("Rollout/default/web"); ro.Phase != PhaseComplete {
		t.Fatalf("rollout = %+v", ro)
	}
	if err := e.rec.Abort("web"); err == nil {
		t.Fatal("abort after completion: no error")
	}
}

func canaryPlan(rev string, steps ...plan.CanaryStep) *plan.Plan {
	d := mkDeploy("Rollout", "web", rev, 4, plan.Strategy{Type: "Canary", ProgressDeadlineSeconds: 120,
		Canary: &plan.Canary{StableService: "web-stable", CanaryService: "web-canary", Steps: steps}})
	return mkPlan("r-"+rev, []deploy{d}, mkService("web", d.pods), mkService("web-stable", d.pods), mkService("web-canary", d.pods))
}

var canarySteps = []plan.CanaryStep{
	{SetWeight: w32(20)}, {Pause: true}, {SetWeight: w32(50)}, {Pause: true, PauseSeconds: 60},
}

// share returns the percent of traffic a service sends to pods whose name
// starts with prefix.
func share(e *env, svc, prefix string) float64 {
	var part, total uint32
	for name, w := range e.backends(svc) {
		total += w
		if strings.HasPrefix(name, prefix) {
			part += w
		}
	}
	if total == 0 {
		return 0
	}
	return float64(part) * 100 / float64(total)
}

func TestCanarySteps(t *testing.T) {
	e := newEnv(t)
	e.pass(canaryPlan("a", canarySteps...))
	p := canaryPlan("b", canarySteps...)
	e.pass(p)
	e.want("web-", "web-a-0", "web-a-1", "web-a-2", "web-a-3", "web-b-0")
	if got := share(e, "web", "web-b-"); got != 20 {
		t.Fatalf("canary share = %v%%, want exactly 20%% (%v)", got, e.backends("web"))
	}
	wantBackends(t, e, "web-stable", "web-a-0", "web-a-1", "web-a-2", "web-a-3")
	wantBackends(t, e, "web-canary", "web-b-0")
	e.pass(p)
	if ro := e.rollout("Rollout/default/web"); ro.Phase != PhasePaused || ro.Step != 1 {
		t.Fatalf("rollout = %+v, want paused at step 1", ro)
	}
	e.clock.Advance(time.Hour)
	e.pass(p) // an untimed pause waits for promote
	if ro := e.rollout("Rollout/default/web"); ro.Step != 1 {
		t.Fatalf("moved without promote: %+v", ro)
	}
	if err := e.rec.Promote("web"); err != nil {
		t.Fatal(err)
	}
	e.pass(p)
	e.want("web-", "web-a-0", "web-a-1", "web-a-2", "web-a-3", "web-b-0", "web-b-1")
	if got := share(e, "web", "web-b-"); got != 50 {
		t.Fatalf("canary share = %v%%, want 50%%", got)
	}
	e.pass(p)
	e.clock.Advance(59 * time.Second)
	e.pass(p)
	if ro := e.rollout("Rollout/default/web"); ro.Step != 3 {
		t.Fatalf("timed pause ended early: %+v", ro)
	}
	e.clock.Advance(time.Second)
	e.pass(p) // full promotion: every new pod
	e.want("web-", "web-a-0", "web-a-1", "web-a-2", "web-a-3", "web-b-0", "web-b-1", "web-b-2", "web-b-3")
	e.pass(p)
	e.want("web-", "web-b-0", "web-b-1", "web-b-2", "web-b-3")
	if got := share(e, "web", "web-b-"); got != 100 {
		t.Fatalf("after promotion share = %v%%", got)
	}
	if ro := e.rollout("Rollout/default/web"); ro.Phase != PhaseComplete {
		t.Fatalf("rollout = %+v", ro)
	}
}

func TestCanaryShareWithUnreadyCanary(t *testing.T) {
	e := newEnv(t)
	e.pass(canaryPlan("a", canarySteps...))
	e.rt.AutoReady = false
	e.pass(canaryPlan("b", canarySteps...))
	if got := share(e, "web", "web-b-"); got != 0 {
		t.Fatalf("unready canary gets %v%%: its share goes to stable", got)
	}
	if len(e.backends("web")) != 4 {
		t.Fatalf("backends %v", e.backends("web"))
	}
}

func TestCanaryCrashLoopAborts(t *testing.T) {
	e := newEnv(t)
	e.pass(canaryPlan("a", canarySteps...))
	p := canaryPlan("b", canarySteps...)
	e.pass(p)
	e.rt.Crash("default/web-b-0", 3)
	e.pass(p)
	ro := e.rollout("Rollout/default/web")
	if ro.Phase != PhaseAborted || !strings.Contains(ro.Message, "crash looping") {
		t.Fatalf("rollout = %+v, want aborted for crash looping", ro)
	}
	e.want("web-", "web-a-0", "web-a-1", "web-a-2", "web-a-3")
	if got := share(e, "web", "web-b-"); got != 0 {
		t.Fatalf("aborted canary still gets %v%%", got)
	}
}

func TestCanaryNotReadyAborts(t *testing.T) {
	e := newEnv(t)
	e.pass(canaryPlan("a", canarySteps...))
	e.rt.AutoReady = false
	p := canaryPlan("b", canarySteps...)
	e.pass(p)
	e.clock.Advance(121 * time.Second)
	e.pass(p)
	if ro := e.rollout("Rollout/default/web"); ro.Phase != PhaseAborted {
		t.Fatalf("rollout = %+v, want aborted", ro)
	}
	// The next revision rolls again.
	e.rt.AutoReady = true
	p = canaryPlan("c", plan.CanaryStep{SetWeight: w32(20)})
	for range 4 {
		e.pass(p)
	}
	e.want("web-", "web-c-0", "web-c-1", "web-c-2", "web-c-3")
}

func TestCanaryAbortByUser(t *testing.T) {
	e := newEnv(t)
	e.pass(canaryPlan("a", canarySteps...))
	p := canaryPlan("b", canarySteps...)
	e.pass(p)
	e.pass(p)
	if err := e.rec.Abort("Rollout/default/web"); err != nil {
		t.Fatal(err)
	}
	e.pass(p)
	e.want("web-", "web-a-0", "web-a-1", "web-a-2", "web-a-3")
	if err := e.rec.Promote("nope"); err == nil || !strings.Contains(err.Error(), "no such workload") {
		t.Fatalf("promote nope: %v", err)
	}
}

// TestCanaryStablePodRecreated: a stable pod deleted during a pause comes
// back (its spec is remembered from the earlier plan).
func TestCanaryStablePodRecreated(t *testing.T) {
	e := newEnv(t)
	e.pass(canaryPlan("a", canarySteps...))
	p := canaryPlan("b", canarySteps...)
	e.pass(p)
	e.pass(p) // paused at step 1
	e.rt.Delete("default/web-a-2")
	e.pass(p)
	e.want("web-", "web-a-0", "web-a-1", "web-a-2", "web-a-3", "web-b-0")
	if got := share(e, "web", "web-b-"); got != 20 {
		t.Fatalf("canary share = %v%%", got)
	}
}
