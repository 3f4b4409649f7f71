package daemon

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"berth.dev/berth/compiler/disruption"
	"berth.dev/berth/compiler/plan"
)

// holdSettle is how long a budget must allow a pod to go, on every
// recheck, before it goes: longer than gossip takes to spread a change
// (a few hundred milliseconds), so that a pod another node has just
// stopped is not still counted healthy here.
const holdSettle = 1500 * time.Millisecond

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
	// allowed is since when each pod its budget lets go has been allowed
	// to go, without a break.
	allowed map[string]time.Time
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
	held, notes, goes := holdMoves(n.cfg.Node, part.Pods, p, rec.PodReadiness(), peers)
	held, notes = n.holds.settle(held, notes, goes, time.Now())
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

// settle keeps among goes the pods their budget has not allowed to go
// for holdSettle yet, and forgets the others.
func (h *holds) settle(held []plan.Pod, notes []string, goes []plan.Pod, now time.Time) ([]plan.Pod, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := map[string]time.Time{}
	for _, p := range goes {
		since, ok := h.allowed[p.Key()]
		if !ok {
			since = now
		}
		if wait := holdSettle - now.Sub(since); wait > 0 {
			next[p.Key()] = since
			held = append(held, p)
			notes = append(notes, fmt.Sprintf("pod %s goes once its budget has allowed it for %v (the other nodes' word settles)", p.Key(), holdSettle))
		}
	}
	h.allowed = next
	sortPods(held)
	return held, notes
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
