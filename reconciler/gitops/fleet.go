package gitops

import (
	"maps"
	"slices"
	"strings"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/fleet"
	"berth.dev/berth/reconciler/notify"
)

// Exchange carries this node's revision facts to the other nodes of the
// inventory and theirs to it, through the authenticated peer exchange
// that carries readiness (reconciler/daemon).
type Exchange interface {
	// PublishFacts makes f what this node tells the others.
	PublishFacts(f fleet.Facts)
	// PeerFacts is what the other nodes told last, by node name; a node
	// that never told is absent.
	PeerFacts() map[string]fleet.Facts
}

// Notifier receives the loop's events (reconciler/notify).
type Notifier interface{ Notify(notify.Event) }

// compiled is a compiled revision.
type compiled struct {
	p    *plan.Plan
	hash string
	// drained are the nodes p has unschedulable (drainedKey).
	drained string
}

// drainedKey names the drained nodes of p's inventory.
func drainedKey(p *plan.Plan) string {
	var out []string
	for i := range p.Nodes {
		if p.Nodes[i].Node.Unschedulable {
			out = append(out, p.Nodes[i].Node.Name)
		}
	}
	return strings.Join(out, ",")
}

// keepPlans is how many revisions healthy here keep their compiled plan
// in memory besides the head and the applied one: a revert to them
// starts at once; older ones are compiled again from their snapshot.
const keepPlans = 2

// view is every node's facts as this node knows them, its own included.
// Only the nodes of the inventory count: one that left it says nothing.
func (l *Loop) view() fleet.View {
	v := fleet.View{}
	if l.opts.Fleet != nil {
		maps.Copy(v, l.opts.Fleet.PeerFacts())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inventory != nil {
		for n := range v {
			if !slices.Contains(l.inventory, n) {
				delete(v, n)
			}
		}
	}
	v[l.opts.Node] = l.ops.Facts
	return v
}

// publish tells the other nodes this node's facts; the caller holds no
// lock.
func (l *Loop) publish() {
	l.mu.Lock()
	f := l.ops.Facts
	l.mu.Unlock()
	if l.opts.Fleet != nil {
		l.opts.Fleet.PublishFacts(f)
	}
}

// decide picks the revision to run from the facts, and makes its plan the
// good one. It reports whether the good plan changed; a target without a
// compiled plan is compiled off the loop first (want).
func (l *Loop) decide() bool {
	l.transition.Lock()
	defer l.transition.Unlock()
	v := l.view()
	l.adopt(v.Control())
	drained := l.adoptCordons(v)
	l.mu.Lock()
	if !slices.Equal(drained, l.drained) {
		// The plans are a function of the commit and of the drained
		// nodes: those compiled with others are compiled again.
		l.drained = drained
		l.status.Drained = drained
	}
	for rev, c := range l.plans {
		if c.drained != strings.Join(l.drained, ",") {
			delete(l.plans, rev)
		}
	}
	in := fleet.Input{Head: l.headRev, Applied: l.status.Applied, Suspended: l.ops.Suspended, Pin: l.ops.Pin,
		AutoRevert: l.opts.AutoRevert, Nodes: l.inventory, View: v}
	if l.headRev == "" && in.Pin == "" {
		l.mu.Unlock()
		return false // nothing compiled yet (resumed plans stay)
	}
	d := fleet.Decide(in)
	prev := l.decision
	l.decision = d
	l.status.Target, l.status.Why, l.status.Failure = d.Target, d.Why, d.Failure
	l.status.LastHealthy = v.LastHealthy(l.inventory)
	changed, want := false, ""
	if c, ok := l.plans[d.Target]; ok {
		key := d.Target + "/" + d.Why + "/" + c.drained
		if key != l.goodKey {
			p := c.p
			switch d.Why {
			case fleet.WhyReverted:
				p = forRevert(p, l.plans[l.headRev].p)
			case fleet.WhyFailed:
				p = failedInPlace(p)
			}
			fresh := l.good == nil || l.good.Revision != p.Revision
			l.good, l.goodHash, l.goodKey = p, c.hash, key
			if p != c.p {
				l.goodHash = p.Digest()
			}
			if fresh {
				l.unsettle(p.Revision)
			}
			changed = true
		}
	} else if d.Target != "" {
		want = d.Target
	}
	l.want = want
	l.evict()
	l.mu.Unlock()
	if want != "" {
		l.Trigger()
	}
	l.decided(prev, d)
	return changed
}

// decided records what a new decision means: a failed head, a revert.
func (l *Loop) decided(prev, d fleet.Decision) {
	// This node's own failure is in the history already, its reason
	// whole (the facts cut it to fleet.MaxReason).
	reason := func(f *fleet.NodeFailure) string {
		if f.Node == l.opts.Node {
			return ""
		}
		return f.Reason + " (on " + f.Node + ")"
	}
	if f := d.Failure; f != nil && (prev.Failure == nil || *prev.Failure != *f) {
		l.opts.History.fail(l.headRevision(), reason(f), f.Object, f.Node, "")
	}
	if d.Why == fleet.WhyReverted && (prev.Why != fleet.WhyReverted || prev.Target != d.Target) {
		f := d.Failure
		head := l.headRevision()
		l.opts.Logger.Warn("revision failed; going back to the last revision healthy on every node",
			"revision", head, "failed_on", f.Node, "object", f.Object, "reason", f.Reason, "to", d.Target)
		l.opts.History.fail(head, reason(f), f.Object, f.Node, d.Target)
		l.opts.Metrics.reverted()
		l.notify(notify.Event{Type: notify.Reverted, Revision: head, To: d.Target, Reason: f.Reason, Object: f.Object, FailedOn: f.Node})
	}
}

func (l *Loop) headRevision() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.headRev
}

// evict drops compiled plans no decision needs soon. The caller holds
// l.mu.
func (l *Loop) evict() {
	keep := map[string]bool{l.headRev: true, l.decision.Target: true, l.ops.Pin: true}
	if l.good != nil {
		keep[l.good.Revision] = true
	}
	for _, r := range l.ops.Facts.Healthy[:min(len(l.ops.Facts.Healthy), keepPlans)] {
		keep[r] = true
	}
	for r := range l.plans {
		if !keep[r] {
			delete(l.plans, r)
		}
	}
}

// keepSnapshots are the revisions whose snapshots stay on disk: those a
// decision may need (a revert compiles its target from it).
func (l *Loop) keepSnapshots(applied string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := []string{applied}
	for _, r := range append([]string{l.headRev, l.ops.Pin, l.decision.Target}, l.ops.Facts.Healthy...) {
		if r != "" && !slices.Contains(keep, r) {
			keep = append(keep, r)
		}
	}
	return keep
}

// forRevert is the plan of a revert to p after head failed: p's hooks do
// not run again (a rollback, as `helm rollback` does not run upgrade
// hooks), and head's SyncFail hooks run once p is back.
func forRevert(p, head *plan.Plan) *plan.Plan {
	cp := *p
	cp.Workloads = nil
	for _, w := range p.Workloads {
		if w.Hook == "" {
			cp.Workloads = append(cp.Workloads, w)
		}
	}
	if head != nil {
		for _, w := range head.Workloads {
			if w.Hook == plan.HookSyncFail && !slices.ContainsFunc(cp.Workloads, func(x plan.Workload) bool { return x.Key() == w.Key() }) {
				w.Hook = plan.HookPostSync
				cp.Workloads = append(cp.Workloads, w)
			}
		}
	}
	slices.SortFunc(cp.Workloads, func(a, b plan.Workload) int {
		return strings.Compare(a.Namespace+"/"+a.Name+"/"+a.Kind, b.Namespace+"/"+b.Name+"/"+b.Kind)
	})
	return &cp
}

// failedInPlace is the plan of a failed revision the node stays on
// (nothing to go back to, or --auto-revert=false): its SyncFail hooks run.
func failedInPlace(p *plan.Plan) *plan.Plan {
	if !slices.ContainsFunc(p.Workloads, func(w plan.Workload) bool { return w.Hook == plan.HookSyncFail }) {
		return p
	}
	cp := *p
	cp.Workloads = slices.Clone(p.Workloads)
	for i := range cp.Workloads {
		if cp.Workloads[i].Hook == plan.HookSyncFail {
			cp.Workloads[i].Hook = plan.HookPreSync
		}
	}
	return &cp
}

// SetHealth takes the health of the revision the node runs
// (reconciler.Reconciler.Health): a failure becomes a fact the other
// nodes learn, and may send every node back; a healthy revision becomes
// a place to go back to. Once settled (healthy or failed) a revision's
// health stays until it is applied again or retried: a pod that crashes
// a week after a good rollout does not revert the fleet.
func (l *Loop) SetHealth(h reconciler.Health) {
	if h.Revision == "" {
		return
	}
	l.transition.Lock()
	defer l.transition.Unlock()
	l.mu.Lock()
	cur := l.good != nil && l.good.Revision == h.Revision
	if !cur {
		l.mu.Unlock()
		return
	}
	l.status.Health = &h
	settled := l.ops.Settled[h.Revision]
	l.mu.Unlock()
	l.opts.Metrics.health(h.State)
	switch {
	case h.State == reconciler.HealthHealthy:
		l.mu.Lock()
		moved := len(l.ops.Facts.Healthy) == 0 || l.ops.Facts.Healthy[0] != h.Revision
		if moved {
			l.ops.Facts.MarkHealthy(h.Revision)
		}
		first := settled == ""
		l.settle(h.Revision, reconciler.HealthHealthy)
		l.mu.Unlock()
		if moved || first {
			l.persistOps()
			l.publish()
			l.opts.History.Mark(h.Revision, Healthy, "")
			l.opts.Logger.Info("revision healthy", "revision", h.Revision)
		}
	case h.State == reconciler.HealthFailed && settled == "":
		attempt := l.view().Attempt(h.Revision)
		l.mu.Lock()
		l.ops.Facts.MarkFailed(fleet.Failure{Revision: h.Revision, Attempt: attempt, Reason: h.Reason, Object: h.Object})
		l.settle(h.Revision, reconciler.HealthFailed)
		l.mu.Unlock()
		l.persistOps()
		l.publish()
		l.opts.Logger.Error("revision failed on this node", "revision", h.Revision, "object", h.Object, "reason", h.Reason)
		l.opts.History.fail(h.Revision, h.Reason, h.Object, l.opts.Node, "")
		l.opts.Metrics.failed()
		l.notify(notify.Event{Type: notify.Failed, Revision: h.Revision, Reason: h.Reason, Object: h.Object, FailedOn: l.opts.Node})
		l.poke()
	}
}

// settle records a revision's settled health. The caller holds l.mu.
func (l *Loop) settle(rev, state string) {
	if l.ops.Settled == nil {
		l.ops.Settled = map[string]string{}
	}
	l.ops.Settled[rev] = state
}

// unsettle forgets a revision's settled health: it is applied afresh.
// The caller holds l.mu.
func (l *Loop) unsettle(rev string) {
	delete(l.ops.Settled, rev)
	for r := range l.ops.Settled {
		if r != rev && (l.good == nil || r != l.good.Revision) {
			delete(l.ops.Settled, r)
		}
	}
}

// inventoryOf lists the nodes of a plan.
func inventoryOf(p *plan.Plan) []string {
	out := make([]string, 0, len(p.Nodes))
	for _, n := range p.Nodes {
		out = append(out, n.Node.Name)
	}
	return out
}

func (l *Loop) notify(e notify.Event) {
	if l.opts.Notify == nil {
		return
	}
	e.Node = l.opts.Node
	if e.Subject == "" && e.Revision != "" {
		if r, ok := l.opts.History.Get(e.Revision); ok {
			e.Subject = r.Message
		}
	}
	l.opts.Notify.Notify(e)
}

// poke makes Run decide again now.
func (l *Loop) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}
