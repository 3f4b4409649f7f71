package gitops

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"berth.dev/berth/compiler/plandiff"
	"berth.dev/berth/reconciler/source"
)

// HistoryFile is where the revision history is kept, under the state
// directory.
const HistoryFile = "history.json"

// Outcome is what the node did with a revision.
type Outcome string

// Outcomes, in the order a revision usually passes them. A later stage
// (health checks, automatic revert) adds its own.
const (
	// Pending: compiled, waiting for its first apply.
	Pending Outcome = "pending"
	// Applying: applied at least once, the last pass not complete yet.
	Applying Outcome = "applying"
	// Applied: the node runs its plan.
	Applied Outcome = "applied"
	// Rejected: it fails lint or plan; it never reached the node.
	Rejected Outcome = "rejected"
	// Failed: a rollout of its plan failed (Reason says which and why).
	Failed Outcome = "failed"
	// Superseded: a newer revision came before it was applied.
	Superseded Outcome = "superseded"
	// Healthy: applied, and every workload of it rolled out on this node
	// (reconciler.RevisionHealth).
	Healthy Outcome = "healthy"
)

// Record is one revision in the node's history.
type Record struct {
	Revision string `json:"revision"`
	// Message, Author and Time are the commit's (empty for a directory).
	Message string    `json:"message,omitempty"`
	Author  string    `json:"author,omitempty"`
	Time    time.Time `json:"time,omitzero"`
	// Seen is when this node first fetched it; Updated when Outcome last
	// changed.
	Seen    time.Time `json:"seen"`
	Updated time.Time `json:"updated"`
	Outcome Outcome   `json:"outcome"`
	// Reason explains a rejected or failed revision (the first error, with
	// its file:line:col), or an apply still being retried.
	Reason string `json:"reason,omitempty"`
	// Object is the workload a failure is about; FailedOn the node it
	// failed on; RevertedTo the revision the nodes went back to.
	Object     string `json:"object,omitempty"`
	FailedOn   string `json:"failedOn,omitempty"`
	RevertedTo string `json:"revertedTo,omitempty"`
	// Change is the plan diff from the revision the node ran before,
	// the content of `berth plan --base`; long diffs are cut at
	// MaxChanges and TruncatedChanges counts the rest.
	Change           *plandiff.Diff `json:"change,omitempty"`
	TruncatedChanges int            `json:"truncatedChanges,omitempty"`
}

// History bounds: records kept, and changes kept per record.
const (
	MaxRecords = 50
	MaxChanges = 2000
)

// History is the node's record of the revisions it fetched, newest first,
// persisted in the state directory. It is safe for concurrent use.
type History struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	records []Record
	version uint64

	// saveMu orders the writes of the file; saved is the version on disk.
	saveMu sync.Mutex
	saved  uint64
}

// NewHistory loads the history kept in dir ("" keeps it in memory only).
func NewHistory(dir string, now func() time.Time) *History {
	h := &History{now: now}
	if h.now == nil {
		h.now = time.Now
	}
	if dir == "" {
		return h
	}
	h.path = filepath.Join(dir, HistoryFile)
	if b, err := os.ReadFile(h.path); err == nil {
		// A damaged file loses the history, not the node: start empty.
		_ = json.Unmarshal(b, &h.records)
	}
	return h
}

// List returns the records, newest first.
func (h *History) List() []Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.records)
}

// Get returns the record of one revision (a unique prefix of at least 7
// characters also matches).
func (h *History) Get(rev string) (Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Revision == rev || (len(rev) >= 7 && len(r.Revision) > len(rev) && r.Revision[:len(rev)] == rev) {
			return r, true
		}
	}
	return Record{}, false
}

// Version changes whenever a record does (for live pages).
func (h *History) Version() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.version
}

// Mark sets a revision's outcome and reason; it does nothing for a
// revision the history does not hold, or when nothing changes.
func (h *History) Mark(rev string, o Outcome, reason string) {
	h.update(rev, func(r *Record) bool {
		if r.Outcome == o && r.Reason == reason {
			return false
		}
		r.Outcome, r.Reason = o, reason
		return true
	})
}

// fail marks a revision failed, with where and why, and where the nodes
// went back to (an empty reason or revertedTo keeps what the record says).
func (h *History) fail(rev, reason, object, node, revertedTo string) {
	h.update(rev, func(r *Record) bool {
		n := *r
		n.Outcome, n.Object, n.FailedOn = Failed, object, node
		if reason != "" {
			n.Reason = reason
		}
		if revertedTo != "" {
			n.RevertedTo = revertedTo
		}
		if n.Outcome == r.Outcome && n.Reason == r.Reason && n.Object == r.Object && n.FailedOn == r.FailedOn && n.RevertedTo == r.RevertedTo {
			return false
		}
		*r = n
		return true
	})
}

// seen adds a revision the first time it is fetched.
func (h *History) seen(rev source.Revision, o Outcome, reason string, change *plandiff.Diff) {
	now := h.now()
	rec := Record{Revision: rev.ID, Message: rev.Message, Author: rev.Author, Time: rev.Time,
		Seen: now, Updated: now, Outcome: o, Reason: reason}
	if change != nil {
		if n := len(change.Changes); n > MaxChanges {
			cut := *change
			cut.Changes = change.Changes[:MaxChanges:MaxChanges]
			change, rec.TruncatedChanges = &cut, n-MaxChanges
		}
		rec.Change = change
	}
	h.mu.Lock()
	if i := slices.IndexFunc(h.records, func(r Record) bool { return r.Revision == rev.ID }); i >= 0 {
		// Fetched again (a force-push back to it): it moves to the top.
		rec.Seen = h.records[i].Seen
		h.records = slices.Delete(h.records, i, i+1)
	}
	h.records = slices.Insert(h.records, 0, rec)
	if len(h.records) > MaxRecords {
		h.records = h.records[:MaxRecords]
	}
	h.version++
	ver, b := h.version, h.marshal()
	h.mu.Unlock()
	h.save(ver, b)
}

// supersede marks every pending revision but keep as superseded.
func (h *History) supersede(keep string) {
	h.mu.Lock()
	var ids []string
	for _, r := range h.records {
		if r.Revision != keep && (r.Outcome == Pending || r.Outcome == Applying) {
			ids = append(ids, r.Revision)
		}
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.Mark(id, Superseded, "")
	}
}

func (h *History) update(rev string, f func(*Record) bool) {
	h.mu.Lock()
	i := slices.IndexFunc(h.records, func(r Record) bool { return r.Revision == rev })
	if i < 0 || !f(&h.records[i]) {
		h.mu.Unlock()
		return
	}
	h.records[i].Updated = h.now()
	h.version++
	ver, b := h.version, h.marshal()
	h.mu.Unlock()
	h.save(ver, b)
}

func (h *History) marshal() []byte {
	if h.path == "" {
		return nil
	}
	b, _ := json.Marshal(h.records)
	return b
}

// save writes version ver of the file by rename, so a crash leaves the
// old or the new history, never half of one; a write that lost the race
// to a newer version is dropped.
func (h *History) save(ver uint64, b []byte) {
	if h.path == "" {
		return
	}
	h.saveMu.Lock()
	defer h.saveMu.Unlock()
	if ver <= h.saved {
		return
	}
	tmp := h.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil && os.Rename(tmp, h.path) == nil {
		h.saved = ver
	}
}
