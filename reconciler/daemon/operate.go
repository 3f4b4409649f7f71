package daemon

import (
	"context"
	"sync"
	"time"

	"berth.dev/berth/reconciler/gitops"
	"berth.dev/berth/reconciler/notify"
)

// healthEvery is how often the health of the revision the node runs is
// read from the reconciler and handed to the loop: a failure is acted on
// within it.
const healthEvery = 200 * time.Millisecond

// watchHealth feeds the loop the health of the revision the node runs
// (reconciler.RevisionHealth): the loop records it, tells the other
// nodes, and reverts when the head failed anywhere.
func watchHealth(ctx context.Context, loop *gitops.Loop, node *Node) {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if rec := node.Reconciler(); rec != nil {
			loop.SetHealth(rec.Health())
		}
	}
}

// driftEvery bounds drift notifications: repairs within it go out as one
// event (a crash-looping pod re-created every few seconds is one line in
// a chat, not hundreds).
const driftEvery = 30 * time.Second

// driftNotes coalesces drift repairs into events.
type driftNotes struct {
	n     *notify.Notifier
	node  string
	every time.Duration // default driftEvery

	mu      sync.Mutex
	last    time.Time
	rev     string
	pending []string
	timer   *time.Timer
}

func (d *driftNotes) repaired(rev string, repairs []string) {
	if d.n == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rev = rev
	d.pending = append(d.pending, repairs...)
	every := d.every
	if every <= 0 {
		every = driftEvery
	}
	if wait := every - time.Since(d.last); wait > 0 {
		if d.timer == nil {
			d.timer = time.AfterFunc(wait, d.flush)
		}
		return
	}
	d.sendLocked()
}

func (d *driftNotes) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.timer = nil
	d.sendLocked()
}

func (d *driftNotes) sendLocked() {
	if len(d.pending) == 0 {
		return
	}
	rs := d.pending
	if len(rs) > 10 {
		rs = append(rs[:9:9], "... and more")
	}
	d.n.Notify(notify.Event{Type: notify.DriftRepaired, Node: d.node, Revision: d.rev, Repairs: rs})
	d.pending, d.last = nil, time.Now()
}
