package reconciler

import (
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/store"
)

func TestNextHistory(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	revs := func(h RevisionHistory) []string {
		out := []string{h.Current.Revision}
		for _, r := range h.Old {
			out = append(out, r.Revision)
		}
		return out
	}
	h := nextHistory(RevisionHistory{}, false, "a", "c1", at(0), 2)
	if got := revs(h); len(got) != 1 || got[0] != "a" || h.Current.Commit != "c1" {
		t.Fatalf("first: %+v", h)
	}
	if same := nextHistory(h, true, "a", "c2", at(1), 2); !sameJSON(same, h) {
		t.Errorf("the same revision under a new commit changed the history: %+v", same)
	}
	h = nextHistory(h, true, "b", "c2", at(2), 2)
	h = nextHistory(h, true, "c", "c3", at(3), 2)
	h = nextHistory(h, true, "d", "c4", at(4), 2)
	if got := revs(h); len(got) != 3 || got[0] != "d" || got[1] != "c" || got[2] != "b" {
		t.Errorf("after d: %v, want d c b (a pruned at the limit 2)", got)
	}
	if h.Old[0].Commit != "c3" || !h.Old[0].Until.Equal(at(4)) || !h.Old[0].Since.Equal(at(3)) {
		t.Errorf("old c: %+v", h.Old[0])
	}
	// A revert makes an old revision current again, once.
	h = nextHistory(h, true, "b", "c5", at(5), 2)
	if got := revs(h); len(got) != 3 || got[0] != "b" || got[1] != "d" || got[2] != "c" {
		t.Errorf("after the revert to b: %v, want b d c", got)
	}
	// A lower limit prunes at once; 0 keeps none.
	if h = nextHistory(h, true, "b", "c5", at(6), 0); len(h.Old) != 0 {
		t.Errorf("limit 0 kept %v", h.Old)
	}
}

// The history of a Deployment is persisted: a daemon that restarts
// remembers the revisions before, at most revisionHistoryLimit, and a
// workload that leaves the plan is forgotten.
func TestHistoryPersists(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	var db *store.DB
	e.restart(dir, &db)
	defer func() { db.Close() }()
	limit := int32(2)
	s := plan.Strategy{Type: "Recreate", RevisionHistoryLimit: &limit}
	for i, rev := range []string{"a", "b", "c", "d"} {
		e.clock.Advance(time.Minute)
		p := mkPlan("commit-"+rev, []deploy{mkDeploy("Deployment", "web", rev, 1, s)})
		e.pass(p)
		e.pass(p)
		if i == 1 {
			e.restart(dir, &db)
		}
	}
	e.restart(dir, &db)
	e.pass(mkPlan("commit-d", []deploy{mkDeploy("Deployment", "web", "d", 1, s)}))
	var ws WorkloadStatus
	for _, w := range e.rec.Status().Workloads {
		if w.Name == "web" {
			ws = w
		}
	}
	if len(ws.History) != 2 || ws.History[0].Revision != "c" || ws.History[0].Commit != "commit-c" || ws.History[1].Revision != "b" {
		t.Fatalf("history after a restart: %+v, want c (commit-c) then b", ws.History)
	}
	e.pass(mkPlan("commit-e", nil))
	e.rec.mu.Lock()
	_, kept := e.rec.state.History["Deployment/default/web"]
	e.rec.mu.Unlock()
	if kept {
		t.Errorf("the history of a workload that left the plan was kept")
	}
}
