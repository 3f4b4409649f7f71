package reconciler

import (
	"fmt"
	"slices"
	"time"

	"berth.dev/berth/compiler/selector"
)

// DaemonSetStep is how long a node's turn in a DaemonSet rolling update
// lasts, on top of minReadySeconds.
const DaemonSetStep = 15 * time.Second

// daemonSetTurn staggers a DaemonSet rolling update across nodes without
// a control plane: nodes share no state but the plan, so a node cannot
// see when another finished. Each node ranks itself among the inventory
// nodes the DaemonSet runs on (by name, the same on every node) and waits
// (rank / maxUnavailable) turns of minReadySeconds + DaemonSetStep from
// when it saw the new revision: with webhooks or fsnotify nodes see a
// commit within about a second of each other, so about maxUnavailable
// nodes replace their pod at a time. It returns how long this node still
// waits (0: its turn has come).
func (v *view) daemonSetTurn(g *group, r *Rollout) time.Duration {
	if g.w.Kind != "DaemonSet" || len(v.d.Nodes) < 2 || len(g.desired) == 0 {
		return 0
	}
	sel := selector.FromMap(g.desired[0].Spec.NodeSelector)
	var names []string
	for _, n := range v.d.Nodes {
		if sel.Matches(n.Labels) {
			names = append(names, n.Name)
		}
	}
	slices.Sort(names)
	rank := slices.Index(names, v.d.Node)
	if rank <= 0 {
		return 0
	}
	per := max(int(g.w.Strategy.MaxUnavailable), 1)
	step := time.Duration(g.w.Strategy.MinReadySeconds)*time.Second + DaemonSetStep
	due := r.Started.Add(time.Duration(rank/per) * step)
	if v.now.Before(due) {
		r.Message = fmt.Sprintf("node %d of %d: waits for its turn until %s", rank+1, len(names), due.UTC().Format(time.RFC3339))
		return due.Sub(v.now)
	}
	return 0
}
