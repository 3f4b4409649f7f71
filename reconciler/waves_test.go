package reconciler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// wavePlan is a migration Job (PreSync hook, or wave -1), a database in
// wave -1 and the web app in wave 0.
func wavePlan(rev, webRev string, hook bool) *plan.Plan {
	s := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1, ProgressDeadlineSeconds: 600}
	web := mkDeploy("Deployment", "web", webRev, 2, s)
	db := mkDeploy("Deployment", "db", "d1", 1, s)
	db.w.Wave = -1
	p := mkPlan(rev, []deploy{web, db})
	tmpl := mkPod("Job", "migrate", "m1", 0)
	tmpl.Spec.RestartPolicy = "Never"
	j := plan.Workload{Kind: "Job", Namespace: "default", Name: "migrate", Revision: "m1", Job: &plan.Job{Completions: 1, Parallelism: 1}, Template: &tmpl, Node: "n1"}
	if hook {
		j.Hook, j.HookDelete = plan.HookPreSync, []string{plan.HookSucceeded}
	} else {
		j.Wave = -1
	}
	p.Workloads = append(p.Workloads, j)
	return p
}

func TestWavesOrderAFirstDeploy(t *testing.T) {
	e := newEnv(t)
	p := wavePlan("r1", "a", true)
	e.pass(p)
	// PreSync first: only the migration runs.
	e.want("", "migrate-"+hookRevision(&plan.Workload{Revision: "m1"}, "r1")[:5]+"-0")
	if h := e.rec.Health(); h.State != HealthProgressing || h.Object != "Job/default/migrate" {
		t.Fatalf("health %+v, want progressing on the migration", h)
	}
	st := e.rec.Status()
	for _, w := range st.Workloads {
		if w.Name == "web" && (w.Phase != PhaseWaiting || !strings.Contains(w.Message, "waits for PreSync wave 0: Job default/migrate on n1")) {
			t.Fatalf("web status %+v, want waiting for the migration", w)
		}
	}
	mig := "default/" + e.rt.Names("migrate-")[0]
	e.rt.Exit(mig, 0)
	e.pass(p)
	// The hook succeeded (and its delete policy removed its pod): wave -1.
	e.pass(p)
	e.want("", "db-d1-0")
	e.pass(p) // db's rollout completes
	e.want("", "db-d1-0")
	e.pass(p)
	e.want("", "db-d1-0", "web-a-0", "web-a-1")
	e.pass(p)
	if h := e.rec.Health(); h.State != HealthHealthy {
		t.Fatalf("health %+v, want healthy", h)
	}
	// A resync of the same revision runs nothing again.
	if res := e.pass(p); len(res.Actions) != 0 {
		t.Fatalf("resync: %v", summary(res.Actions))
	}
	// A new revision runs the hook again, and holds web's rollout (its
	// old pods serve) until the hook succeeded.
	p2 := wavePlan("r2", "b", true)
	e.pass(p2)
	run := "migrate-" + hookRevision(&plan.Workload{Revision: "m1"}, "r2")[:5] + "-0"
	e.want("", "db-d1-0", run, "web-a-0", "web-a-1")
	e.pass(p2)
	e.want("web-", "web-a-0", "web-a-1")
	e.rt.Exit("default/"+run, 0)
	e.pass(p2)
	e.pass(p2)
	if got := e.rt.Names("web-b"); len(got) == 0 {
		t.Fatalf("web did not roll after the hook: %v", e.rt.Names(""))
	}
}

func TestWavesFailedJobFailsTheRevision(t *testing.T) {
	e := newEnv(t)
	p := wavePlan("r1", "a", false)
	p.Workloads[len(p.Workloads)-1].Job.BackoffLimit = 0
	e.pass(p)
	e.want("", "db-d1-0", "migrate-m1-0")
	e.rt.Exit("default/migrate-m1-0", 1)
	e.pass(p)
	e.pass(p)
	h := e.rec.Health()
	if h.State != HealthFailed || h.Object != "Job/default/migrate" || !strings.Contains(h.Reason, "BackoffLimitExceeded") {
		t.Fatalf("health %+v, want failed on the migration", h)
	}
	e.want("web-")
}

func TestWavesWaitForOtherNodes(t *testing.T) {
	s := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1}
	db := mkDeploy("Deployment", "db", "d1", 1, s)
	db.w.Wave = -1
	web := mkDeploy("Deployment", "web", "w1", 1, s)
	p := &plan.Plan{Revision: "r1", Workloads: []plan.Workload{db.w, web.w},
		Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}, Pods: web.pods}, {Node: plan.Node{Name: "n2"}, Pods: db.pods}}}
	d := DesiredFor(p, "n1")
	if got := fmt.Sprint(d.Hosts); got != "map[Deployment/default/db:[n2] Deployment/default/web:[n1]]" {
		t.Fatalf("hosts %s", got)
	}
	st := State{Rollouts: map[string]Rollout{}, Jobs: map[string]JobRun{}}
	for _, tt := range []struct {
		name  string
		peers map[string]PeerReadiness
		held  bool
	}{
		{"no word from n2", nil, true},
		{"n2 rolls", map[string]PeerReadiness{"n2": {Reachable: true, Workloads: map[string]PeerWorkload{"Deployment/default/db": {Revision: "d1"}}}}, true},
		{"n2 on another revision", map[string]PeerReadiness{"n2": {Reachable: true, Workloads: map[string]PeerWorkload{"Deployment/default/db": {Revision: "d0", Done: true}}}}, true},
		{"n2 unreachable", map[string]PeerReadiness{"n2": {Workloads: map[string]PeerWorkload{"Deployment/default/db": {Revision: "d1", Done: true}}}}, true},
		{"n2 done", map[string]PeerReadiness{"n2": {Reachable: true, Workloads: map[string]PeerWorkload{"Deployment/default/db": {Revision: "d1", Done: true}}}}, false},
	} {
		d.Peers = tt.peers
		g := Gates(d, obsOf(), st)
		if held := g["Deployment/default/web"] != ""; held != tt.held {
			t.Errorf("%s: held %v (%v), want %v", tt.name, held, g, tt.held)
		}
	}
	// A workload whose rollout started is never held.
	d.Peers = nil
	st.Rollouts["Deployment/default/web"] = Rollout{Revision: "w1", Phase: PhaseProgressing}
	if g := Gates(d, obsOf(), st); len(g) != 0 {
		t.Errorf("started rollout held: %v", g)
	}
}

func TestHealth(t *testing.T) {
	s := plan.Strategy{Type: "Recreate", ProgressDeadlineSeconds: 30}
	web := mkDeploy("Deployment", "web", "a", 2, s)
	p := mkPlan("r1", []deploy{web})
	d := DesiredFor(p, "n1")
	started := t0
	rec := func(phase string, avail int) State {
		return State{Rollouts: map[string]Rollout{"Deployment/default/web": {Revision: "a", Phase: phase, LastProgress: started, Available: avail, Message: "m"}}}
	}
	up := obsOf(web.pods...)
	crash := obsOf(web.pods...)
	crash.Pods[1].Ready = false
	crash.Pods[1].Containers = append(crash.Pods[1].Containers, nodes.ContainerStatus{Name: "app", State: nodes.StateWaiting, RestartCount: 4})
	pulling := obsOf(web.pods[0])
	pulling.Pods[0].Ready, pulling.Pods[0].Phase, pulling.Pods[0].Reason = false, "Pending", "ImagePullBackOff"
	for _, tt := range []struct {
		name   string
		obs    func() State
		o      nodes.NodeState
		now    time.Duration
		state  string
		reason string
	}{
		{"complete", func() State { return rec(PhaseComplete, 2) }, up, 0, HealthHealthy, ""},
		{"progressing", func() State { return rec(PhaseProgressing, 0) }, pulling, 10 * time.Second, HealthProgressing, "m"},
		{"deadline", func() State { return rec(PhaseProgressing, 0) }, pulling, 31 * time.Second, HealthFailed,
			"progress deadline exceeded: 0 of 2 new pods available after 30s (pod web-a-0 Pending: ImagePullBackOff)"},
		{"rolling failed", func() State { return rec(PhaseFailed, 1) }, up, 0, HealthFailed, "m"},
		{"crash loop", func() State { return rec(PhaseProgressing, 1) }, crash, 0, HealthFailed, "pod web-a-1 crash looping (4 restarts)"},
		{"not started", func() State { return State{} }, up, 0, HealthProgressing, "rollout not started"},
	} {
		h := RevisionHealth(d, tt.o, tt.obs(), started.Add(tt.now))
		if h.State != tt.state || h.Reason != tt.reason || h.State != HealthHealthy && h.Object != "Deployment/default/web" {
			t.Errorf("%s: %+v, want %s %q", tt.name, h, tt.state, tt.reason)
		}
	}
}

func TestDriftAndRetry(t *testing.T) {
	e := newEnv(t)
	var drift []string
	e.rec.opts.OnDrift = func(rev string, repairs []string) { drift = append(drift, rev+": "+strings.Join(repairs, "; ")) }
	s := plan.Strategy{Type: "RollingUpdate", MaxSurge: 1, ProgressDeadlineSeconds: 60}
	p := mkPlan("r1", []deploy{mkDeploy("Deployment", "web", "a", 2, s)})
	e.pass(p)
	e.pass(p)
	e.pass(p)
	if len(drift) != 0 {
		t.Fatalf("a rollout reported as drift: %v", drift)
	}
	e.rt.Delete("default/web-a-1")
	e.pass(p)
	if len(drift) != 1 || !strings.Contains(drift[0], "r1: create default/web-a-1 (Deployment/default/web)") {
		t.Fatalf("drift %q", drift)
	}

	// A rollout that fails its deadline, retried: it progresses again.
	e.rt.AutoReady = false
	p2 := mkPlan("r2", []deploy{mkDeploy("Deployment", "web", "b", 2, s)})
	e.pass(p2)
	e.clock.Advance(61 * time.Second)
	e.pass(p2)
	if h := e.rec.Health(); h.State != HealthFailed || !strings.Contains(h.Reason, "progress deadline exceeded") {
		t.Fatalf("health %+v", h)
	}
	if err := e.rec.RetryFailed(); err != nil {
		t.Fatal(err)
	}
	if h := e.rec.Health(); h.State != HealthProgressing {
		t.Fatalf("after retry: %+v", h)
	}
}
