package reconciler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/store"
)

// restart simulates a daemon killed and started again: the store file is
// closed and reopened, the in-memory reconciler is thrown away, the pods
// (the fake runtime) keep running.
func (e *env) restart(dir string, db **store.DB) {
	e.t.Helper()
	if *db != nil {
		(*db).Close()
	}
	var err error
	if *db, err = store.Open(dir); err != nil {
		e.t.Fatal(err)
	}
	e.rec = e.reconciler(*db)
}

func TestResumeRollingUpdate(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	var db *store.DB
	e.restart(dir, &db)
	defer func() { db.Close() }()
	s := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1}
	e.pass(mkPlan("r1", []deploy{mkDeploy("Deployment", "web", "a", 4, s)}))
	p := mkPlan("r2", []deploy{mkDeploy("Deployment", "web", "b", 4, s)})
	e.rt.AutoReady = false
	e.pass(p)
	e.rt.SetAllReady("web-b-")
	e.pass(p)
	e.want("web-", "web-a-1", "web-a-2", "web-a-3", "web-b-0", "web-b-1")
	started := e.rollout("Deployment/default/web").Started
	e.rt.Calls()

	e.clock.Advance(time.Minute)
	e.restart(dir, &db)
	e.rt.SetAllReady("web-b-")
	e.pass(p)
	e.want("web-", "web-a-2", "web-a-3", "web-b-0", "web-b-1", "web-b-2")
	for _, c := range e.rt.Calls() {
		if c.Op == "create" && (c.Key == "default/web-b-0" || c.Key == "default/web-b-1") || c.Op == "remove" && strings.Contains(c.Key, "web-b-") {
			t.Fatalf("a finished step was redone: %v", c)
		}
	}
	if ro := e.rollout("Deployment/default/web"); !ro.Started.Equal(started) || ro.Revision != "b" {
		t.Fatalf("rollout restarted: %+v (started %v)", ro, started)
	}
}

func TestResumeCanaryStep(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	var db *store.DB
	e.restart(dir, &db)
	defer func() { db.Close() }()
	e.pass(canaryPlan("a", canarySteps...))
	p := canaryPlan("b", canarySteps...)
	e.pass(p)
	e.pass(p)
	if err := e.rec.Promote("web"); err != nil {
		t.Fatal(err)
	}
	e.pass(p)
	e.pass(p) // step 3: the timed pause, weight 50
	e.clock.Advance(30 * time.Second)

	e.restart(dir, &db)
	e.pass(p)
	ro := e.rollout("Rollout/default/web")
	if ro.Step != 3 || ro.Weight != 50 || share(e, "web", "web-b-") != 50 {
		t.Fatalf("after restart: %+v, share %v%%; want step 3 at 50%%", ro, share(e, "web", "web-b-"))
	}
	e.clock.Advance(30 * time.Second) // the pause counts from before the restart
	e.pass(p)
	e.pass(p)
	e.want("web-", "web-b-0", "web-b-1", "web-b-2", "web-b-3")

	// The control: without the store the rollout would start over at step 0.
	e2 := newEnv(t)
	e2.rt = e.rt
	e2.rec = e2.reconciler(nil)
	e2.pass(canaryPlan("c", canarySteps...))
	if ro := e2.rollout("Rollout/default/web"); ro.Step != 0 {
		t.Fatalf("control: %+v", ro)
	}
}

func TestResumeFinishedJobNeverRunsAgain(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	var db *store.DB
	e.restart(dir, &db)
	defer func() { db.Close() }()
	p := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 1})
	e.pass(p)
	e.rt.Exit("default/batch-abcde-0", 0)
	e.pass(p)
	e.restart(dir, &db)
	e.pass(p)
	e.pass(p)
	e.want("batch-", "batch-abcde-0")
	if j := e.job("Job/default/batch"); j.Phase != JobComplete {
		t.Fatalf("job after restart = %+v", j)
	}
}

// TestResumeWriteAhead: the record of a pod lands before the pod; a crash
// between the two re-creates the same pod, not a second one.
func TestResumeWriteAhead(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	var db *store.DB
	e.restart(dir, &db)
	defer func() { db.Close() }()
	p := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 1})
	e.rt.FailOnce("create", "default/batch-abcde-0", errors.New("killed"))
	if _, err := e.rec.Reconcile(context.Background(), p, ""); err == nil {
		t.Fatal("the failed create was not reported")
	}
	e.want("batch-")
	e.restart(dir, &db)
	e.pass(p)
	e.want("batch-", "batch-abcde-0")
	if j := e.job("Job/default/batch"); j.Next != 1 || len(j.Pods) != 1 {
		t.Fatalf("job = %+v, want one pod", j)
	}
}

func TestRunLoopAndEvents(t *testing.T) {
	e := newEnv(t)
	e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", Resync: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	plans := make(chan *plan.Plan)
	done := make(chan error)
	go func() { done <- e.rec.Run(ctx, plans) }()
	d := mkDeploy("Deployment", "web", "a", 2, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})
	plans <- mkPlan("r1", []deploy{d}, mkService("web", d.pods))
	deadline := time.Now().Add(5 * time.Second)
	for len(e.rt.Names("web-")) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	e.want("web-", "web-a-0", "web-a-1")
	st := e.rec.Status()
	if len(st.Events) != 3 || st.Events[0].Action != "rollout" || st.Events[1].Action != "create" || st.Events[1].Result != "ok" {
		t.Fatalf("events = %+v", st.Events)
	}
	if w := st.Workloads[0]; w.Ready != 2 || w.Total != 2 {
		t.Fatalf("status = %+v", w)
	}
}

func TestExecutorRetriesAndReportsFailures(t *testing.T) {
	e := newEnv(t)
	e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: 2})
	d := mkDeploy("Deployment", "web", "a", 1, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})
	p := mkPlan("r1", []deploy{d})
	e.rt.FailOnce("create", "default/web-a-0", errors.New("transient"))
	e.pass(p) // retried within the pass
	e.want("web-", "web-a-0")

	e2 := newEnv(t)
	e2.rt.FailPull("img:a", "registry unreachable")
	_, err := e2.rec.Reconcile(context.Background(), p, "")
	if err == nil || !strings.Contains(err.Error(), "registry unreachable") {
		t.Fatalf("err = %v", err)
	}
	ev := e2.rec.Status().Events
	if len(ev) != 2 || ev[1].Result != "failed" || !strings.Contains(ev[1].Error, "pull img:a") {
		t.Fatalf("events = %+v", ev)
	}
	e2.rt.FailPull("img:a", "")
	e2.pass(p) // within the back-off: not tried
	e2.want("web-")
	if ev := e2.rec.Status().Events; ev[len(ev)-1].Result != "backoff" {
		t.Fatalf("events = %+v", ev)
	}
	e2.clock.Advance(5 * time.Second)
	e2.pass(p)
	e2.want("web-", "web-a-0")
}

func TestUnknownNodeChangesNothing(t *testing.T) {
	e := newEnv(t)
	p := mkPlan("r1", []deploy{mkDeploy("Deployment", "web", "a", 2, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})})
	e.pass(p)
	_, err := e.rec.Reconcile(context.Background(), p, "typo")
	if err == nil || !strings.Contains(err.Error(), `node "typo" is not in the plan`) {
		t.Fatalf("err = %v", err)
	}
	e.want("web-", "web-a-0", "web-a-1")
}
