package gitops

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"berth.dev/berth/reconciler/fleet"
	"berth.dev/berth/reconciler/notify"
)

// OpsFile keeps what operators decided and what the node learned of
// revisions, under the state directory: a restarted daemon stays
// suspended or pinned, and remembers which revisions failed.
const OpsFile = "operate.json"

// ops is the persisted operator state of the node.
type ops struct {
	// Suspended: new revisions wait (berth suspend); the applied one is
	// re-applied, drift repaired.
	Suspended bool `json:"suspended,omitempty"`
	// Pin is the revision served until berth unpin (berth pin).
	Pin string `json:"pin,omitempty"`
	// Facts are what this node tells the others (fleet.Facts); Control in
	// them is the newest fleet-wide command it adopted.
	Facts fleet.Facts `json:"facts,omitzero"`
	// Settled is the health a revision settled at since it was last
	// applied (healthy or failed).
	Settled map[string]string `json:"settled,omitempty"`
}

// ErrRevision is a revision the node cannot find.
var ErrRevision = errors.New("unknown revision")

func (l *Loop) persistOps() {
	if l.opts.StateDir == "" {
		return
	}
	l.mu.Lock()
	b, err := json.Marshal(l.ops)
	l.mu.Unlock()
	if err != nil {
		return
	}
	l.opsMu.Lock()
	defer l.opsMu.Unlock()
	tmp := filepath.Join(l.opts.StateDir, OpsFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		_ = os.Rename(tmp, filepath.Join(l.opts.StateDir, OpsFile))
	}
}

func (l *Loop) restoreOps() {
	if l.opts.StateDir == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(l.opts.StateDir, OpsFile))
	if err != nil {
		return
	}
	var o ops
	if json.Unmarshal(b, &o) != nil {
		l.opts.Logger.Warn("the operator state is damaged; starting without suspend, pin or failures", "file", OpsFile)
		return
	}
	l.mu.Lock()
	l.ops = o
	l.status.Suspended, l.status.Pinned = o.Suspended, o.Pin
	l.mu.Unlock()
	l.opts.Metrics.operated(o.Suspended, o.Pin)
}

// Suspend stops applying new revisions on this node (all: on every node
// of the inventory, through the peer exchange); resync and drift repair
// go on.
func (l *Loop) Suspend(all bool) error { return l.control(all, func(o *ops) { o.Suspended = true }) }

// Resume undoes Suspend.
func (l *Loop) Resume(all bool) error { return l.control(all, func(o *ops) { o.Suspended = false }) }

// Pin serves rev (a commit of the node's history, a unique prefix of 7
// characters or more, or a full commit hash) until Unpin, whatever the
// branch does meanwhile. It returns the full revision.
func (l *Loop) Pin(rev string, all bool) (string, error) {
	full, err := l.resolve(rev)
	if err != nil {
		return "", err
	}
	return full, l.control(all, func(o *ops) { o.Pin = full })
}

// Unpin undoes Pin: the node follows the branch again.
func (l *Loop) Unpin(all bool) error { return l.control(all, func(o *ops) { o.Pin = "" }) }

// resolve finds a revision: in the history by a unique prefix, or a
// full commit hash the source can fetch.
func (l *Loop) resolve(rev string) (string, error) {
	rev = strings.TrimSpace(rev)
	if r, ok := l.opts.History.Get(rev); ok {
		return r.Revision, nil
	}
	if len(rev) == 40 && strings.Trim(rev, "0123456789abcdef") == "" {
		return rev, nil
	}
	return "", fmt.Errorf("%w %q: not in this node's history (berth history lists it); give the full commit hash", ErrRevision, rev)
}

// control changes the operator state and tells who needs to know: with
// all, a fleet-wide command every node adopts (fleet.Control, newer than
// any known).
func (l *Loop) control(all bool, change func(*ops)) error {
	var c fleet.Control
	if all {
		c = l.view().Control()
	}
	l.mu.Lock()
	before := l.ops
	change(&l.ops)
	if all {
		c.Version++
		c.Origin = l.opts.Node
		c.Suspended, c.Pin = l.ops.Suspended, l.ops.Pin
		l.ops.Facts.Control = c
	}
	after := l.ops
	l.status.Suspended, l.status.Pinned = after.Suspended, after.Pin
	l.mu.Unlock()
	l.persistOps()
	if all {
		l.publish()
	}
	l.controlled(before, after, all)
	l.poke()
	l.Trigger() // a pinned revision may have to be fetched
	return nil
}

// adopt takes a fleet-wide command newer than the last one adopted.
func (l *Loop) adopt(c fleet.Control) {
	l.mu.Lock()
	if !c.Newer(l.ops.Facts.Control) {
		l.mu.Unlock()
		return
	}
	before := l.ops
	l.ops.Facts.Control = c
	l.ops.Suspended, l.ops.Pin = c.Suspended, c.Pin
	after := l.ops
	l.status.Suspended, l.status.Pinned = after.Suspended, after.Pin
	l.mu.Unlock()
	l.opts.Logger.Info("fleet-wide command adopted", "from", c.Origin, "suspended", c.Suspended, "pin", c.Pin)
	l.persistOps()
	l.publish() // it spreads on
	l.controlled(before, after, true)
}

// controlled logs, counts and tells a change of the operator state.
func (l *Loop) controlled(before, after ops, all bool) {
	l.opts.Metrics.operated(after.Suspended, after.Pin)
	switch {
	case !before.Suspended && after.Suspended:
		l.opts.Logger.Warn("suspended: new revisions wait until berth resume", "all_nodes", all)
		l.notify(notify.Event{Type: notify.Suspended, AllNodes: all})
	case before.Suspended && !after.Suspended:
		l.opts.Logger.Info("resumed: new revisions apply again", "all_nodes", all)
		l.notify(notify.Event{Type: notify.Resumed, AllNodes: all})
	}
	switch {
	case after.Pin != "" && after.Pin != before.Pin:
		l.opts.Logger.Warn("pinned: this revision is served until berth unpin", "revision", after.Pin, "all_nodes", all)
		l.notify(notify.Event{Type: notify.Pinned, To: after.Pin, AllNodes: all})
	case before.Pin != "" && after.Pin == "":
		l.opts.Logger.Info("unpinned: the node follows the branch again", "all_nodes", all)
		l.notify(notify.Event{Type: notify.Unpinned, AllNodes: all})
	}
}

// Retry tries a failed revision again (berth retry): its failures so far
// no longer count, on every node (the attempt travels with the facts). It
// returns the full revision.
func (l *Loop) Retry(rev string) (string, error) {
	full, err := l.resolve(rev)
	if err != nil {
		return "", err
	}
	v := l.view()
	if _, failed := v.Failure(full); !failed {
		return "", fmt.Errorf("revision %s has not failed (at its current attempt): nothing to retry", short(full))
	}
	attempt := v.Attempt(full) + 1
	l.mu.Lock()
	l.ops.Facts.SetRetry(full, attempt)
	delete(l.ops.Settled, full)
	l.mu.Unlock()
	l.persistOps()
	l.publish()
	l.opts.History.Mark(full, Pending, fmt.Sprintf("retried (attempt %d)", attempt+1))
	l.opts.Logger.Info("revision retried", "revision", full, "attempt", attempt+1)
	if l.opts.OnRetry != nil {
		l.opts.OnRetry(full)
	}
	l.poke()
	return full, nil
}
