package reconciler

import (
	"time"

	"berth.dev/berth/compiler/plan"
)

// bucketHistory holds each workload's revision history.
const bucketHistory = "history"

// RevisionHistory is what a node remembers of the revisions of a
// Deployment, DaemonSet or Rollout: the one it runs and the ones before,
// newest first, at most the workload's revisionHistoryLimit of them (the
// ReplicaSets or ControllerRevisions Kubernetes keeps), each with the
// plan revision (the Git commit) that brought it. `berth status -o
// json` lists them; going back to one is a commit, and the history says
// which.
type RevisionHistory struct {
	Current Revision   `json:"current"`
	Old     []Revision `json:"old,omitempty"`
}

// Revision is one pod template revision of a workload.
type Revision struct {
	// Revision is the pod-template-hash.
	Revision string `json:"revision"`
	// Commit is the plan revision that first brought it to this node.
	Commit string    `json:"commit"`
	Since  time.Time `json:"since"`
	// Until is when a newer revision replaced it.
	Until time.Time `json:"until,omitzero"`
}

// history records the workload's revision: a new one moves the current
// to the old ones, and the old ones are pruned to the limit, oldest
// first. A revision that comes back (a revert) leaves the old ones and is
// current again.
func (v *view) history(w *plan.Workload, progress State) {
	limit := w.Strategy.RevisionHistoryLimit
	if limit == nil || w.Revision == "" {
		return
	}
	key := w.Key()
	h, had := progress.History[key]
	next := nextHistory(h, had, w.Revision, v.d.Revision, v.now, int(*limit))
	if !had || !sameJSON(h, next) {
		v.record(bucketHistory, key, next, "revision history")
	}
}

func nextHistory(h RevisionHistory, had bool, revision, commit string, now time.Time, limit int) RevisionHistory {
	out := RevisionHistory{Current: h.Current, Old: h.Old}
	if !had || h.Current.Revision != revision {
		var old []Revision
		if had {
			prev := h.Current
			prev.Until = now
			old = append(old, prev)
		}
		for _, r := range h.Old {
			if r.Revision != revision {
				old = append(old, r)
			}
		}
		out = RevisionHistory{Current: Revision{Revision: revision, Commit: commit, Since: now}, Old: old}
	}
	if len(out.Old) > limit {
		out.Old = out.Old[:max(limit, 0)]
	}
	if len(out.Old) == 0 {
		out.Old = nil
	}
	return out
}
