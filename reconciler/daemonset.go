package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// DaemonSetStep is how long a node's turn in a DaemonSet rolling update
// lasts, on top of minReadySeconds.
const DaemonSetStep = 15 * time.Second

// daemonSetTurn staggers a DaemonSet rolling update across nodes without
// a control plane. Each node ranks itself among the inventory nodes the
// DaemonSet runs on (by name, the same on every node); nodes go in
// batches of maxUnavailable, in rank order.
//
// With feedback (Desired.Peers: the other nodes tell their rollouts), a
// node goes when every node of the earlier batches runs the new revision
// available, and waits as long as one of them does not: a node whose new
// pod fails stops the rollout, as in Kubernetes. maxUnavailable holds
// across the inventory, as the DaemonSet controller counts it: a node
// (the first one too) also waits while other nodes (outside its batch)
// without a ready pod would make more than maxUnavailable with its
// batch; and a node whose
// own pod is not ready goes at once (replacing it costs nothing, and a
// broken pod is how a fix rolls out). A node it knows nothing of (no
// word yet, or cut off) falls back to time: the node waits (batch) turns
// of minReadySeconds + DaemonSetStep from when it saw the revision
// (nodes see a commit within about a second of each other with webhooks
// or fsnotify). It returns how long this node still waits (0: its turn
// has come).
func (v *view) daemonSetTurn(g *group, r *Rollout) time.Duration {
	if g.w.Kind != "DaemonSet" || len(v.d.Nodes) < 2 || len(g.desired) == 0 {
		return 0
	}
	serving := false
	for _, o := range g.old {
		serving = serving || ready(o)
	}
	if !serving {
		return 0
	}
	// The plan's node set, decided at compile time (nodeSelector, node
	// affinity, taints): every node ranks the same nodes.
	names := g.w.Nodes
	rank := slices.Index(names, v.d.Node)
	if rank < 0 {
		return 0
	}
	per := max(int(g.w.Strategy.MaxUnavailable), 1)
	step := time.Duration(g.w.Strategy.MinReadySeconds)*time.Second + DaemonSetStep
	first := rank / per * per
	earlier, batch := names[:first], names[first:min(first+per, len(names))]
	var waiting, unknown, down []string
	for _, n := range earlier {
		p, ok := v.d.Peers[n]
		switch w, told := p.Workloads[g.key]; {
		case !ok || !p.Reachable || !told:
			unknown = append(unknown, n)
		case w.Revision != r.Revision || !w.Done:
			waiting = append(waiting, n)
		}
	}
	if len(waiting) > 0 {
		r.Message = fmt.Sprintf("node %d of %d: waits for %s to run revision %s", rank+1, len(names), strings.Join(waiting, ", "), r.Revision)
		return step
	}
	for _, n := range names {
		p, ok := v.d.Peers[n]
		if w, told := p.Workloads[g.key]; ok && p.Reachable && told && !w.Available && !slices.Contains(batch, n) {
			down = append(down, n)
		}
	}
	if len(down)+len(batch) > per {
		r.Message = fmt.Sprintf("node %d of %d: waits while %s %s no ready pod (maxUnavailable %d across the nodes)", rank+1, len(names),
			strings.Join(down, ", "), map[bool]string{true: "has", false: "have"}[len(down) == 1], per)
		return step
	}
	if len(unknown) == 0 {
		return 0
	}
	due := r.Started.Add(time.Duration(rank/per) * step)
	if v.now.Before(due) {
		r.Message = fmt.Sprintf("node %d of %d: waits for its turn until %s (no word from %s)", rank+1, len(names),
			due.UTC().Format(time.RFC3339), strings.Join(unknown, ", "))
		return due.Sub(v.now)
	}
	return 0
}
