package daemon

import (
	"context"
	"slices"
	"sync"
	"time"

	"berth.dev/berth/compiler/disruption"
	"berth.dev/berth/compiler/plan"
)

// holdRecheck is how often a node that keeps pods for a disruption
// budget looks again whether they may go (the others' readiness comes by
// gossip within a few hundred milliseconds).
const holdRecheck = 500 * time.Millisecond

// holds are the pods disruption budgets keep on this node: pods the plan
// now runs on another node (this node drained or leaving the inventory,
// a new placement), kept until their budgets allow them to go, as an
// eviction is refused (429) in Kubernetes while it would break a budget.
type holds struct {
	mu sync.Mutex
	// latest is the plan the loop gave last, before holds: a recheck
	// applies it again.
	latest *plan.Plan
	timer  *time.Timer
	notes  []string
	warned bool
	// set is the budgets of plan p, their selectors compiled.
	p   *plan.Plan
	set *disruption.Set
}

// budgetSet is p's budgets, compiled once per plan.
func (h *holds) budgetSet(p *plan.Plan) *disruption.Set {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.p != p {
		h.p, h.set = p, disruption.NewSet(p.DisruptionBudgets)
	}
	return h.set
}

// localBudgets are this node's ready pods per budget of the plan it runs,
// which it tells the others.
func (n *Node) localBudgets() map[string]int {
	p, rec := n.current.Load(), n.Reconciler()
	if p == nil || rec == nil || len(p.DisruptionBudgets) == 0 {
		return nil
	}
	return budgetHealthy(n.holds.budgetSet(p), rec.PodReadiness())
}

// hold returns p with the pods budgets keep here added to this node's
// part (holdMoves), and looks again after holdRecheck while it keeps
// any. given is the plan the loop gave (p is it, or this node's drained
// form of it).
func (n *Node) hold(ctx context.Context, given, p *plan.Plan) *plan.Plan {
	n.holds.mu.Lock()
	n.holds.latest = given
	n.holds.mu.Unlock()
	prev := n.current.Load()
	if prev == nil {
		prev = n.LastApplied()
	}
	rec := n.Reconciler()
	if len(p.DisruptionBudgets) == 0 || prev == nil || rec == nil {
		n.setHoldNotes(nil)
		return p
	}
	part, err := prev.NodePlan(n.cfg.Node)
	if err != nil {
		return p
	}
	peers, ok := n.peers.budgetCounts()
	if !ok {
		n.holds.mu.Lock()
		warn := !n.holds.warned
		n.holds.warned = true
		n.holds.mu.Unlock()
		if warn {
			n.cfg.Logger.Warn("this node does not gossip: disruption budgets cannot count the other nodes' ready pods, so pods that move go without waiting for them (give every node --peer-key-file)")
		}
		return p
	}
	held, notes := holdMoves(n.cfg.Node, part.Pods, p, rec.PodReadiness(), peers)
	n.setHoldNotes(notes)
	if len(held) == 0 {
		return p
	}
	n.holds.mu.Lock()
	if n.holds.timer == nil {
		n.holds.timer = time.AfterFunc(holdRecheck, func() {
			n.holds.mu.Lock()
			latest := n.holds.latest
			n.holds.timer = nil
			n.holds.mu.Unlock()
			if ctx.Err() != nil || latest == nil {
				return
			}
			if err := n.Apply(ctx, latest); err != nil && ctx.Err() == nil {
				n.cfg.Logger.Warn("recheck pods held by disruption budgets", "err", err)
			}
		})
	}
	n.holds.mu.Unlock()
	return withHeld(p, n.cfg.Node, held)
}

// setHoldNotes logs the holds when they change.
func (n *Node) setHoldNotes(notes []string) {
	n.holds.mu.Lock()
	same := slices.Equal(notes, n.holds.notes)
	n.holds.notes = notes
	n.holds.mu.Unlock()
	if same {
		return
	}
	for _, s := range notes {
		n.cfg.Logger.Warn("held by a disruption budget", "hold", s)
	}
	if len(notes) == 0 {
		n.cfg.Logger.Info("no pod held by a disruption budget")
	}
}

// HeldPods are the pods disruption budgets keep on this node now, one
// line each (berth status).
func (n *Node) HeldPods() []string {
	n.holds.mu.Lock()
	defer n.holds.mu.Unlock()
	return slices.Clone(n.holds.notes)
}
