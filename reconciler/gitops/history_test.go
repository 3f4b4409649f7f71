package gitops

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/plandiff"
	"berth.dev/berth/reconciler/source"
)

type failingApplier struct{ err error }

func (f *failingApplier) Apply(context.Context, *plan.Plan) error { return f.err }

func outcomes(h *History) []string {
	var out []string
	for _, r := range h.List() {
		out = append(out, r.Revision+":"+string(r.Outcome))
	}
	return out
}

func TestHistoryFollowsTheLoop(t *testing.T) {
	dir := t.TempDir()
	src := &fakeSource{head: "good1"}
	app := &failingApplier{}
	clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	l := New(Options{Source: src, Compile: compile, Apply: app, StateDir: dir, Now: now})
	ctx := context.Background()

	l.Step(ctx, true)
	src.head = "bad2"
	l.Step(ctx, true)
	src.head = "good3"
	app.err = errors.New("pull image: registry down")
	l.Step(ctx, true)

	h := l.History()
	if got, want := fmt.Sprint(outcomes(h)), "[good3:applying bad2:rejected good1:applied]"; got != want {
		t.Fatalf("history = %s, want %s", got, want)
	}
	r, _ := h.Get("good3")
	if r.Reason != "pull image: registry down" || r.Change == nil || r.Change.Base != "good1" || r.Change.Revision != "good3" {
		t.Errorf("good3 = %+v", r)
	}
	if r, _ := h.Get("bad2"); r.Reason != "web.yaml:3:5: error: broken" || r.Change != nil {
		t.Errorf("bad2 = %+v, want the first diagnostic as its reason", r)
	}
	app.err = nil
	clock = clock.Add(5 * time.Second) // the failed apply's retry is due
	l.Step(ctx, false)
	if r, _ := h.Get("good3"); r.Outcome != Applied || r.Reason != "" {
		t.Errorf("good3 after a good pass = %+v", r)
	}
	// A failed rollout, marked by the daemon, stays through later passes.
	h.Mark("good3", Failed, "Deployment default/web: progress deadline exceeded")
	l.Step(ctx, false)
	if r, _ := h.Get("good3"); r.Outcome != Failed {
		t.Errorf("good3 after a resync = %+v, want failed kept", r)
	}

	// A restarted daemon reads the same history back.
	again := NewHistory(dir, now)
	if got, want := fmt.Sprint(outcomes(again)), "[good3:failed bad2:rejected good1:applied]"; got != want {
		t.Fatalf("history after a restart = %s, want %s", got, want)
	}
	if r, ok := again.Get("good"); ok {
		t.Errorf("a prefix shorter than 7 matched %+v", r)
	}
}

func TestHistorySupersededAndBounded(t *testing.T) {
	h := NewHistory("", nil)
	h.seen(source.Revision{ID: "aaaaaaaa1"}, Pending, "", nil)
	h.seen(source.Revision{ID: "aaaaaaaa2"}, Pending, "", nil)
	h.supersede("aaaaaaaa2")
	if r, _ := h.Get("aaaaaaaa1"); r.Outcome != Superseded {
		t.Errorf("an older pending revision = %+v, want superseded", r)
	}
	big := &plandiff.Diff{Changes: make([]plandiff.Change, MaxChanges+5)}
	for i := range MaxRecords + 10 {
		h.seen(source.Revision{ID: fmt.Sprintf("rev%04d", i)}, Pending, "", big)
	}
	list := h.List()
	if len(list) != MaxRecords || list[0].Revision != fmt.Sprintf("rev%04d", MaxRecords+9) {
		t.Fatalf("kept %d records, newest %s", len(list), list[0].Revision)
	}
	if r := list[0]; len(r.Change.Changes) != MaxChanges || r.TruncatedChanges != 5 || len(big.Changes) != MaxChanges+5 {
		t.Errorf("a long diff kept %d changes, %d truncated (input now %d)", len(r.Change.Changes), r.TruncatedChanges, len(big.Changes))
	}
	v := h.Version()
	h.Mark("rev0059", Applied, "")
	h.Mark("rev0059", Applied, "")
	h.Mark("unknown", Applied, "")
	if h.Version() != v+1 {
		t.Errorf("version moved by %d, want 1 (one change)", h.Version()-v)
	}
}
