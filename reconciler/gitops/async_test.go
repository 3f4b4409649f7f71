package gitops

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/source"
)

// syncSource is a fake source safe for the loop's fetch goroutine.
type syncSource struct {
	mu      sync.Mutex
	head    string
	err     error
	anchors []string
}

func (s *syncSource) Fetch(_ context.Context, have string) (source.Revision, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return source.Revision{}, false, s.err
	}
	return source.Revision{ID: s.head, Dir: "/snap/" + s.head}, s.head != have, nil
}

func (s *syncSource) set(head string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.head, s.err = head, err
}

func (s *syncSource) Anchor(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anchors = append(s.anchors, id)
}

// countingApplier counts applies per revision; each apply is one pass
// on a real node. The first fail applies of a revision fail.
type countingApplier struct {
	mu     sync.Mutex
	counts map[string]int
	last   string
	fail   int
}

func (a *countingApplier) Apply(_ context.Context, p *plan.Plan) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts == nil {
		a.counts = map[string]int{}
	}
	a.counts[p.Revision]++
	a.last = p.Revision
	if a.counts[p.Revision] <= a.fail {
		return errors.New("1 actions failed")
	}
	return nil
}

func (a *countingApplier) count(rev string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts[rev]
}

// waitUntil polls cond; the generous timeout only bounds a failing test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestLoopKeepsTheGoodPlanWhileABadRevisionCompiles: while a revision's
// compile runs (here: until the test lets it end), the loop goes on (a
// failed apply of the last good plan is retried); the compile then hits a
// budget, and the status says so in one line while the node keeps its
// revision. A plan is handed to the node once: no resync here (the
// node's reconciler owns it), and an apply is repeated only after a
// failure.
func TestLoopKeepsTheGoodPlanWhileABadRevisionCompiles(t *testing.T) {
	src := &syncSource{head: "good1"}
	app := &countingApplier{fail: 3}
	release := make(chan struct{})
	comp := func(ctx context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic) {
		if rev.ID == "bad2" {
			<-release
			ex := &budget.Exceeded{Limit: budget.EvalMemory, Where: "app/x.cue", Max: 512 << 20}
			return nil, []diag.Diagnostic{ex.Diagnostic(diag.Pos{})}
		}
		return &plan.Plan{FormatVersion: plan.FormatVersion, Revision: rev.ID}, nil
	}
	m := NewMetrics(prometheus.NewRegistry())
	l := New(Options{Source: src, Compile: comp, Apply: app, StateDir: t.TempDir(), Metrics: m,
		Poll: time.Hour, Retry: time.Millisecond, Tick: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- l.Run(ctx) }()
	defer func() { cancel(); <-ran }()

	waitUntil(t, "good1 tried", func() bool { return app.count("good1") >= 1 })
	src.set("bad2", nil)
	l.Trigger()
	waitUntil(t, "bad2 compiling", func() bool { return l.Status().Compiling == "bad2" })
	waitUntil(t, "good1 retried and applied while bad2 compiles", func() bool { return l.Status().Applied == "good1" })
	if s := l.Status(); s.Compiling != "bad2" || app.count("good1") != 4 {
		t.Fatalf("status while compiling: %+v, good1 applied %d times, want 4 (3 failed)", s, app.count("good1"))
	}
	close(release)
	waitUntil(t, "bad2 refused", func() bool { r := l.Status().Rejected; return r != nil && r.Revision == "bad2" })
	if got := l.Status().Rejected.Reason; got != "budget exceeded (evaluation memory, app/x.cue)" {
		t.Fatalf("reason %q", got)
	}
	time.Sleep(50 * time.Millisecond) // 50 ticks: none hands good1 over again
	if app.count("bad2") != 0 || app.count("good1") != 4 || l.Status().Applied != "good1" {
		t.Fatalf("applied after the refusal: %+v", app.counts)
	}
	if got := testutil.ToFloat64(m.rejectedTotal); got != 1 {
		t.Fatalf("rejected metric %v", got)
	}
}

// TestLoopCompileDeadline: a compile past its deadline is refused at the
// deadline, while it still runs; the next compile waits for it to end.
func TestLoopCompileDeadline(t *testing.T) {
	src := &syncSource{head: "slow"}
	app := &countingApplier{}
	release := make(chan struct{})
	var sawDeadline bool
	comp := func(ctx context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic) {
		<-ctx.Done() // an evaluation in a child would be killed here
		sawDeadline = errors.Is(ctx.Err(), context.DeadlineExceeded)
		<-release // the Go part of a compile cannot be stopped
		return &plan.Plan{Revision: rev.ID}, nil
	}
	l := New(Options{Source: src, Compile: comp, Apply: app, CompileTimeout: 10 * time.Millisecond})
	done := make(chan struct{})
	go func() { l.Step(context.Background(), true); close(done) }()
	waitUntil(t, "the refusal at the deadline", func() bool { return l.Status().Rejected != nil })
	if r := l.Status().Rejected; r.Revision != "slow" || r.Reason != "budget exceeded (compile time, the revision)" {
		t.Fatalf("rejection %+v", r)
	}
	select {
	case <-done:
		t.Fatal("the step returned while its compile still ran")
	default:
	}
	close(release)
	<-done
	if !sawDeadline || l.Plan() != nil || app.count("slow") != 0 {
		t.Fatalf("deadline seen %v, plan %v, applied %v", sawDeadline, l.Plan(), app.counts)
	}
}

// TestLoopRevisionRefusedBySource: a commit the source refuses (over a
// budget, unsigned, a rollback) is a rejection, told once, not a fetch
// error retried in the log; the source is anchored to what is applied.
func TestLoopRevisionRefusedBySource(t *testing.T) {
	src := &syncSource{head: "good1"}
	app := &countingApplier{}
	m := NewMetrics(prometheus.NewRegistry())
	dir := t.TempDir()
	l := New(Options{Source: src, Compile: compile, Apply: app, StateDir: dir, Metrics: m})
	ctx := context.Background()
	l.Step(ctx, true)
	if len(src.anchors) != 1 || src.anchors[0] != "good1" {
		t.Fatalf("anchors %v, want [good1]", src.anchors)
	}
	ex := &budget.Exceeded{Limit: budget.Files, Where: "deploy", Got: 1000000, Max: 100000}
	src.set("good1", &source.RevisionError{ID: "bomb", Err: ex})
	for range 3 {
		l.Step(ctx, true)
	}
	s := l.Status()
	if s.Rejected == nil || s.Rejected.Revision != "bomb" || s.Rejected.Reason != "budget exceeded (files, deploy)" || s.LastError != "" {
		t.Fatalf("status %+v", s)
	}
	if s.Applied != "good1" || s.Head != "bomb" || testutil.ToFloat64(m.rejectedTotal) != 1 || testutil.ToFloat64(m.fetchErrors) != 0 {
		t.Fatalf("status %+v, rejected %v, fetch errors %v", s, testutil.ToFloat64(m.rejectedTotal), testutil.ToFloat64(m.fetchErrors))
	}
	// A restarted loop anchors the source before its first fetch.
	src2 := &syncSource{head: "good1"}
	l2 := New(Options{Source: src2, Compile: compile, Apply: app, StateDir: dir})
	l2.restore()
	if len(src2.anchors) != 1 || src2.anchors[0] != "good1" {
		t.Fatalf("anchors after restart %v", src2.anchors)
	}
}
