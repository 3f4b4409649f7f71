package gossip

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// The Cluster as memberlist's delegates, one type per role. memberlist
// calls them from its own goroutines, some with its node lock held: they
// take the Cluster's lock only, never call memberlist, and never block.
type (
	delegate  Cluster
	events    Cluster
	admission Cluster
)

func (d *delegate) NodeMeta(int) []byte { return nil }

// NotifyMsg takes a delta (gossiped), a snapshot or a snapshot request
// (sent directly).
func (d *delegate) NotifyMsg(b []byte) {
	c := (*Cluster)(d)
	if len(b) == 0 {
		return
	}
	now := time.Now()
	switch b[0] {
	case kindDelta:
		m, err := decodeDelta(b)
		if err != nil {
			c.drop("delta", err)
			return
		}
		c.mu.Lock()
		fresh, changed := c.reps.delta(m, now)
		c.changed = c.changed || changed
		c.mu.Unlock()
		if fresh {
			// Pass it on: memberlist gossips only what is queued.
			c.queue.QueueBroadcast(broadcast(append([]byte(nil), b...)))
		}
	case kindSnapshot:
		s, err := decodeSnapshot(b)
		if err != nil {
			c.drop("snapshot", err)
			return
		}
		c.mu.Lock()
		c.changed = c.reps.snapshot(s, now) || c.changed
		c.mu.Unlock()
	case kindRequest:
		q, err := decodeRequest(b)
		if err != nil || q.owner != c.cfg.Self.Name || !c.allowed(q.from) {
			c.drop("request", fmt.Errorf("from %q for %q: %v", q.from, q.owner, err))
			return
		}
		c.mu.Lock()
		answer := c.answer(q, now)
		c.mu.Unlock()
		if answer != nil {
			c.sendTo(q.from, answer)
		}
	case kindBatch:
		ds, err := decodeBatch(b)
		if err != nil {
			c.drop("batch", err)
			return
		}
		for _, b := range ds {
			m, err := decodeDelta(b)
			if err != nil {
				c.drop("delta", err)
				return
			}
			c.mu.Lock()
			_, changed := c.reps.delta(m, now)
			c.changed = c.changed || changed
			c.mu.Unlock()
		}
	case kindHeads:
		heads, err := decodeHeads(b)
		if err != nil {
			c.drop("heads", err)
			return
		}
		c.mu.Lock()
		c.reps.learn(heads, now)
		c.mu.Unlock()
	default:
		c.drop("message", fmt.Errorf("unknown kind %q", b[0]))
	}
}

// answer is what q asks for: the deltas that follow its version while
// this node's history has them (and q does not ask for the snapshot),
// else its snapshot, unless it sent too many lately (the asker
// retries). The caller holds c.mu.
func (c *Cluster) answer(q request, now time.Time) []byte {
	if ds, ok := c.pub.since(q); ok {
		c.sent.repairs.Add(uint64(len(ds)))
		return encodeBatch(ds)
	}
	if !c.servedAt.IsZero() {
		c.serveTok = min(float64(c.t.ServeBurst), c.serveTok+now.Sub(c.servedAt).Seconds()*c.t.ServeRate)
	}
	c.servedAt = now
	if c.serveTok < 1 {
		return nil
	}
	c.serveTok--
	snap := c.pub.snapshot()
	c.sent.snapshots.Add(1)
	c.sent.snapshotBytes.Add(uint64(len(snap)))
	return snap
}

func (c *Cluster) drop(what string, err error) {
	c.dropped.Add(1)
	c.log.Debug("dropped a gossip "+what, "err", err)
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}

// LocalState is the push/pull state: how far this node knows every
// owner, and its own snapshot.
func (d *delegate) LocalState(bool) []byte {
	c := (*Cluster)(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	b := encodeState(c.reps.digest(), c.pub.snapshot())
	c.sent.pushPulls.Add(1)
	c.sent.pushPullBytes.Add(uint64(len(b)))
	return b
}

// MergeRemoteState takes another node's push/pull state: its snapshot,
// and what it knows that this node lacks (fetched if gossip does not
// bring it).
func (d *delegate) MergeRemoteState(b []byte, _ bool) {
	c := (*Cluster)(d)
	digest, snap, err := decodeState(b)
	if err != nil {
		c.drop("push/pull state", err)
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap != nil && c.reps.snapshot(snap, now) {
		c.changed = true
	}
	c.reps.learn(digest, now)
}

// NotifyAlive admits a node only as its inventory entry: its name, at
// its address, on the peer port. A node that is not in the inventory
// is refused, whatever it says (it holds the key, but Git decides).
func (a *admission) NotifyAlive(n *memberlist.Node) error {
	c := (*Cluster)(a)
	if err := c.admit(n); err != nil {
		c.refused.Add(1)
		return err
	}
	return nil
}

// NotifyMerge refuses to merge with a cluster that has a node under an
// inventory name at another address (a node pretending to be another);
// nodes that are simply not in the inventory are refused one by one
// by NotifyAlive.
func (a *admission) NotifyMerge(peers []*memberlist.Node) error {
	c := (*Cluster)(a)
	inv := *c.inv.Load()
	for _, n := range peers {
		if _, ok := inv[n.Name]; ok {
			if err := c.admit(n); err != nil {
				c.refused.Add(1)
				return err
			}
		}
	}
	return nil
}

func (c *Cluster) admit(n *memberlist.Node) error {
	ip, ok := (*c.inv.Load())[n.Name]
	switch {
	case !ok:
		return fmt.Errorf("%q (%s) is not in the inventory", n.Name, n.Address())
	case !ip.Equal(n.Addr) || int(n.Port) != c.cfg.Port:
		return fmt.Errorf("%q claims %s; the inventory has it at %s, port %d", n.Name, n.Address(), ip, c.cfg.Port)
	}
	return nil
}

func (e *events) NotifyJoin(n *memberlist.Node) { (*Cluster)(e).memberEvent(n.Name, true) }
func (e *events) NotifyLeave(n *memberlist.Node) {
	(*Cluster)(e).memberEvent(n.Name, false)
}
func (e *events) NotifyUpdate(*memberlist.Node) {}

// AckPayload and NotifyPingComplete: a node that answered this node's
// probe is no longer suspect here.
func (e *events) AckPayload() []byte { return nil }
func (e *events) NotifyPingComplete(n *memberlist.Node, _ time.Duration, _ []byte) {
	c := (*Cluster)(e)
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.members[n.Name]; m != nil && !m.suspectAt.IsZero() {
		m.suspectAt = time.Time{}
		c.changed = true
	}
}
