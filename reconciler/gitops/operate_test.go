package gitops

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/fleet"
	"berth.dev/berth/reconciler/notify"
	"berth.dev/berth/reconciler/source"
)

// exchange is the peer exchange of a test: the other nodes' facts, set
// by the test, and what this node published.
type exchange struct {
	mu    sync.Mutex
	peers map[string]fleet.Facts
	pub   fleet.Facts
}

func (x *exchange) PublishFacts(f fleet.Facts) { x.mu.Lock(); x.pub = f; x.mu.Unlock() }
func (x *exchange) PeerFacts() map[string]fleet.Facts {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := map[string]fleet.Facts{}
	for k, v := range x.peers {
		out[k] = v
	}
	return out
}
func (x *exchange) set(node string, f fleet.Facts) { x.mu.Lock(); x.peers[node] = f; x.mu.Unlock() }

type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) Notify(ev notify.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := ev.Type + " " + ev.Revision
	if ev.To != "" {
		s += " to " + ev.To
	}
	e.got = append(e.got, s)
}

func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.got
	e.got = nil
	return out
}

// twoNodes compiles every revision into a plan of nodes n1 and n2.
func twoNodes(_ context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic) {
	return &plan.Plan{FormatVersion: plan.FormatVersion, Revision: rev.ID,
		Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}}, {Node: plan.Node{Name: "n2"}}}}, nil
}

type fleetEnv struct {
	t   *testing.T
	src *snapSource
	app *fakeApplier
	x   *exchange
	ev  *events
	m   *Metrics
	l   *Loop
	dir string
}

func newFleetEnv(t *testing.T, dir string) *fleetEnv {
	e := &fleetEnv{t: t, src: &snapSource{fakeSource: fakeSource{head: "r1"}}, app: &fakeApplier{},
		x: &exchange{peers: map[string]fleet.Facts{}}, ev: &events{}, m: NewMetrics(prometheus.NewRegistry()), dir: dir}
	e.l = New(Options{Source: e.src, Compile: twoNodes, Apply: e.app, StateDir: dir, Node: "n1", AutoRevert: true,
		Fleet: e.x, Notify: e.ev, Metrics: e.m})
	e.l.restore()
	return e
}

// step fetches (when fetch) and decides and applies, as Run does.
func (e *fleetEnv) step(fetch bool) {
	e.l.Step(context.Background(), fetch)
	if e.l.decide() {
		e.l.applyGood(context.Background())
	}
}

func (e *fleetEnv) health(rev, state string) {
	e.l.SetHealth(reconciler.Health{Revision: rev, State: state, Reason: "because", Object: "Deployment/default/web"})
	e.step(false)
}

func (e *fleetEnv) applied(want string) {
	e.t.Helper()
	if s := e.l.Status(); s.Applied != want {
		e.t.Fatalf("applied %q (target %s, why %s), want %q", s.Applied, s.Target, s.Why, want)
	}
}

func TestAutoRevertOnAFailureHereOrElsewhere(t *testing.T) {
	e := newFleetEnv(t, t.TempDir())
	e.step(true)
	e.applied("r1")
	e.health("r1", reconciler.HealthHealthy)
	e.x.set("n2", fleet.Facts{Healthy: []string{"r1"}})
	if got := e.x.pub.Healthy; !slices.Equal(got, []string{"r1"}) {
		t.Fatalf("published healthy %v", got)
	}

	// r2 fails here: both nodes' last healthy revision is r1.
	e.src.head = "r2"
	e.step(true)
	e.applied("r2")
	e.health("r2", reconciler.HealthFailed)
	e.applied("r1")
	s := e.l.Status()
	if s.Why != fleet.WhyReverted || s.Failure == nil || s.Failure.Node != "n1" || s.Head != "r2" {
		t.Fatalf("status %+v", s)
	}
	rec, _ := e.l.History().Get("r2")
	if rec.Outcome != Failed || rec.RevertedTo != "r1" || rec.FailedOn != "n1" || rec.Object != "Deployment/default/web" {
		t.Fatalf("r2's record %+v", rec)
	}
	if got := e.ev.take(); !slices.Equal(got, []string{"revision.applied r1", "revision.applied r2", "revision.failed r2", "revision.reverted r2 to r1", "revision.applied r1"}) {
		t.Fatalf("events %q", got)
	}
	if testutil.ToFloat64(e.m.revertedTotal) != 1 || testutil.ToFloat64(e.m.failedTotal) != 1 || testutil.ToFloat64(e.m.appliedTotal) != 3 {
		t.Fatal("metrics")
	}
	// The head stays r2: polls do not try it again.
	e.step(true)
	e.step(true)
	e.applied("r1")

	// A new commit rolls forward; then n2 reports it failed there.
	e.src.head = "r3"
	e.step(true)
	e.applied("r3")
	e.health("r3", reconciler.HealthHealthy)
	e.applied("r3")
	var n2 fleet.Facts
	n2.MarkHealthy("r1")
	n2.MarkFailed(fleet.Failure{Revision: "r3", Reason: "crash loop", Object: "Deployment/default/api"})
	e.x.set("n2", n2)
	e.step(false)
	e.applied("r1")
	if s := e.l.Status(); s.Failure == nil || s.Failure.Node != "n2" || s.Failure.Reason != "crash loop" {
		t.Fatalf("failure %+v", s.Failure)
	}

	// berth retry r3: the old failures no longer count, on every node.
	if _, err := e.l.Retry("r3"); err != nil {
		t.Fatal(err)
	}
	e.step(false)
	e.applied("r3")
	if e.x.pub.Retries[0] != (fleet.Retry{Revision: "r3", Attempt: 1}) {
		t.Fatalf("published retries %+v", e.x.pub.Retries)
	}
	if _, err := e.l.Retry("r1"); err == nil {
		t.Fatal("retried a revision that did not fail")
	}
}

func TestSuspendPinAndRestart(t *testing.T) {
	dir := t.TempDir()
	e := newFleetEnv(t, dir)
	e.step(true)
	e.health("r1", reconciler.HealthHealthy)
	if err := e.l.Suspend(false); err != nil {
		t.Fatal(err)
	}
	e.src.head = "r2"
	e.step(true)
	e.applied("r1")
	if s := e.l.Status(); !s.Suspended || s.Why != fleet.WhySuspended || s.Head != "r2" {
		t.Fatalf("suspended status %+v", s)
	}
	// r1 is not handed over again: the node keeps running it, and its
	// reconciler's resync repairs drift meanwhile.
	n := len(e.app.applied)
	e.step(false)
	if len(e.app.applied) != n {
		t.Fatalf("a step while suspended applied %v", e.app.applied[n:])
	}

	// A restart keeps it suspended.
	e2 := newFleetEnv(t, dir)
	e2.src.head = "r2"
	e2.l.resume(context.Background())
	e2.step(true)
	e2.applied("r1")
	if !e2.l.Status().Suspended || testutil.ToFloat64(e2.m.suspended) != 1 {
		t.Fatal("the restarted node forgot it is suspended")
	}
	if err := e2.l.Resume(false); err != nil {
		t.Fatal(err)
	}
	e2.step(false)
	e2.applied("r2")

	// Pin an earlier revision by its prefix: served until unpin, newer
	// commits wait.
	e2.src.head = "r3"
	e2.step(true)
	if _, err := e2.l.Pin("r1", false); err != nil {
		t.Fatal(err)
	}
	e2.step(true) // the pinned plan is compiled from its snapshot
	e2.step(false)
	e2.applied("r1")
	if _, err := e2.l.Pin("nope", false); err == nil || !strings.Contains(err.Error(), "not in this node's history") {
		t.Fatalf("pin of an unknown revision: %v", err)
	}
	if err := e2.l.Unpin(false); err != nil {
		t.Fatal(err)
	}
	e2.step(false)
	e2.applied("r3")
	if got := e2.ev.take(); !slices.Contains(got, "node.resumed ") || !slices.Contains(got, "node.pinned  to r1") || !slices.Contains(got, "node.unpinned ") {
		t.Fatalf("events %q", got)
	}
}

func TestFleetWideCommand(t *testing.T) {
	e := newFleetEnv(t, t.TempDir())
	e.step(true)
	// n2 took `berth suspend --all-nodes`: this node adopts it.
	e.x.set("n2", fleet.Facts{Control: fleet.Control{Version: 1, Origin: "n2", Suspended: true}})
	e.src.head = "r2"
	e.step(true)
	e.applied("r1")
	if s := e.l.Status(); !s.Suspended || e.x.pub.Control.Origin != "n2" {
		t.Fatalf("not adopted: %+v, published %+v", s, e.x.pub.Control)
	}
	// This node resumes them all: a newer command.
	if err := e.l.Resume(true); err != nil {
		t.Fatal(err)
	}
	e.step(false)
	e.applied("r2")
	if c := e.x.pub.Control; c.Version != 2 || c.Origin != "n1" || c.Suspended {
		t.Fatalf("published %+v", c)
	}
}

func TestRevertPlans(t *testing.T) {
	w := func(name, hook string) plan.Workload {
		return plan.Workload{Kind: "Job", Namespace: "default", Name: name, Hook: hook}
	}
	target := &plan.Plan{Revision: "r1", Workloads: []plan.Workload{w("app", ""), w("migrate", plan.HookPreSync), w("smoke", plan.HookPostSync)}}
	head := &plan.Plan{Revision: "r2", Workloads: []plan.Workload{w("app", ""), w("page", plan.HookSyncFail), w("migrate", plan.HookPreSync)}}
	names := func(p *plan.Plan) string {
		var out []string
		for _, x := range p.Workloads {
			out = append(out, x.Name+":"+x.Hook)
		}
		return strings.Join(out, ",")
	}
	// Back to r1: its hooks do not run again; r2's SyncFail hook runs once r1 is back.
	if got := names(forRevert(target, head)); got != "app:,page:PostSync" {
		t.Errorf("revert plan %s", got)
	}
	if target.Workloads[1].Hook != plan.HookPreSync {
		t.Error("forRevert changed the compiled plan")
	}
	// Staying on a failed r2: its SyncFail hook runs first.
	if got := names(failedInPlace(head)); got != "app:,page:PreSync,migrate:PreSync" {
		t.Errorf("failed plan %s", got)
	}
	if failedInPlace(target) != target {
		t.Error("a plan without SyncFail hooks was copied")
	}
}
