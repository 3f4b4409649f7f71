package gitops

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/source"
)

type fakeSource struct {
	head string
	err  error
}

func (f *fakeSource) Fetch(_ context.Context, have string) (source.Revision, bool, error) {
	if f.err != nil {
		return source.Revision{}, false, f.err
	}
	return source.Revision{ID: f.head, Dir: "/snap/" + f.head}, f.head != have, nil
}

type fakeApplier struct{ applied []string }

func (f *fakeApplier) Apply(_ context.Context, p *plan.Plan) error {
	f.applied = append(f.applied, p.Revision)
	return nil
}

func compile(_ context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic) {
	if rev.ID[0] == 'b' { // "bad..." revisions fail
		return nil, []diag.Diagnostic{{Pos: diag.Pos{File: "web.yaml", Line: 3, Col: 5}, Severity: diag.Error, Message: "broken"}}
	}
	return &plan.Plan{FormatVersion: plan.FormatVersion, Revision: rev.ID}, nil
}

func TestLoopKeepsLastGoodRevision(t *testing.T) {
	src := &fakeSource{head: "good1"}
	app := &fakeApplier{}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	l := New(Options{Source: src, Compile: compile, Apply: app, StateDir: t.TempDir(), Metrics: m})
	ctx := context.Background()

	l.Step(ctx, true)
	if s := l.Status(); s.Applied != "good1" || s.PlanHash == "" {
		t.Fatalf("after good1: %+v", s)
	}

	src.head = "bad2"
	l.Step(ctx, true)
	s := l.Status()
	if s.Applied != "good1" || s.Rejected == nil || s.Rejected.Revision != "bad2" {
		t.Fatalf("after bad2: status %+v, want good1 applied and bad2 rejected", s)
	}
	if got := s.Rejected.Diagnostics[0].String(); got != "web.yaml:3:5: error: broken" {
		t.Fatalf("rejection diagnostic = %q", got)
	}
	if got := testutil.ToFloat64(m.rejectedTotal); got != 1 {
		t.Fatalf("rejected metric = %v, want 1", got)
	}
	// A resync re-applies the last good plan (drift repair), never the bad one.
	l.Step(ctx, false)
	if last := app.applied[len(app.applied)-1]; last != "good1" {
		t.Fatalf("resync applied %s, want good1", last)
	}
	// The bad revision is not recompiled on every poll.
	l.Step(ctx, true)
	if got := testutil.ToFloat64(m.rejectedTotal); got != 1 {
		t.Fatalf("rejected metric after re-poll = %v, want still 1", got)
	}

	src.err = errors.New("registry down")
	l.Step(ctx, true)
	if s := l.Status(); s.Applied != "good1" {
		t.Fatalf("fetch error changed the applied revision: %+v", s)
	}

	src.err, src.head = nil, "good3"
	l.Step(ctx, true)
	if s := l.Status(); s.Applied != "good3" || s.Rejected != nil || s.LastError != "" {
		t.Fatalf("after fix: %+v", s)
	}

	// A restarted loop remembers what it applied.
	l2 := New(Options{Source: src, Compile: compile, Apply: app, StateDir: l.opts.StateDir})
	l2.restore()
	if s := l2.Status(); s.Applied != "good3" {
		t.Fatalf("restored status %+v, want good3", s)
	}
}

type snapSource struct {
	fakeSource
	pruned []string
}

func (s *snapSource) Snapshot(id string) (source.Revision, bool) {
	return source.Revision{ID: id, Dir: "/snap/" + id}, true
}

func (s *snapSource) Prune(keep ...string) error { s.pruned = keep; return nil }

func TestLoopResumesLastGoodRevisionAfterRestart(t *testing.T) {
	src := &snapSource{fakeSource: fakeSource{head: "good1"}}
	app := &fakeApplier{}
	dir := t.TempDir()
	l := New(Options{Source: src, Compile: compile, Apply: app, StateDir: dir})
	l.Step(context.Background(), true)
	if len(src.pruned) != 1 || src.pruned[0] != "good1" {
		t.Fatalf("pruned keeping %v, want [good1]", src.pruned)
	}

	// The daemon restarts while the head is a bad commit.
	src.head = "bad2"
	app2 := &fakeApplier{}
	l2 := New(Options{Source: src, Compile: compile, Apply: app2, StateDir: dir})
	l2.restore()
	l2.resume(context.Background())
	l2.Step(context.Background(), true)
	s := l2.Status()
	if s.Applied != "good1" || s.Rejected == nil || s.Rejected.Revision != "bad2" {
		t.Fatalf("after restart on a bad head: %+v", s)
	}
	if len(app2.applied) == 0 || app2.applied[len(app2.applied)-1] != "good1" {
		t.Fatalf("restarted loop applied %v, want the resumed good1", app2.applied)
	}
}
