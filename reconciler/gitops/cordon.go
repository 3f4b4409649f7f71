package gitops

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/reconciler/fleet"
)

// ErrNode is a node the inventory does not have.
var ErrNode = errors.New("unknown node")

// Drain marks node drained (berth node drain) on every node of the
// inventory: this node takes the mark and the others adopt it through
// the peer exchange (fleet.Cordon). Every node then compiles its plans
// with the node unschedulable, so its pods move elsewhere as the
// disruption budgets allow.
func (l *Loop) Drain(node string) error { return l.cordon(node, true) }

// Uncordon undoes Drain: the node is schedulable again.
func (l *Loop) Uncordon(node string) error { return l.cordon(node, false) }

func (l *Loop) cordon(node string, drained bool) error {
	node = strings.TrimSpace(node)
	l.mu.Lock()
	inv := l.inventory
	l.mu.Unlock()
	if inv != nil && !slices.Contains(inv, node) {
		return fmt.Errorf("%w %q: not in the inventory (nodes: %s)", ErrNode, node, strings.Join(inv, ", "))
	}
	c := l.view().Cordons()[node]
	l.mu.Lock()
	l.ops.Facts.SetCordon(fleet.Cordon{Node: node, Version: c.Version + 1, Origin: l.opts.Node, Drained: drained})
	l.mu.Unlock()
	if drained {
		l.opts.Logger.Warn("node drained: its pods move to the other nodes as the disruption budgets allow", "node", node)
	} else {
		l.opts.Logger.Info("node uncordoned: pods may be placed on it again", "node", node)
	}
	l.persistOps()
	l.publish()
	l.poke()
	return nil
}

// adoptCordons takes the newer drain marks the other nodes tell, and
// returns the drained nodes of the inventory, sorted. The caller holds
// no lock.
func (l *Loop) adoptCordons(v fleet.View) []string {
	cs := v.Cordons()
	changed := false
	l.mu.Lock()
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for n := range cs {
			if !yield(n) {
				return
			}
		}
	}) {
		changed = l.ops.Facts.SetCordon(cs[n]) || changed
	}
	inv := l.inventory
	l.mu.Unlock()
	if changed {
		l.persistOps()
		l.publish() // it spreads on
	}
	drained := fleet.Drained(cs)
	if inv != nil {
		drained = slices.DeleteFunc(drained, func(n string) bool { return !slices.Contains(inv, n) })
	}
	return drained
}

// Drained are the nodes of the inventory that are drained, as the plans
// this node compiles now see them (the daemon's compiler reads it).
func (l *Loop) Drained() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.drained)
}
