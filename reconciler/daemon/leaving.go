package daemon

import (
	"slices"
	"strings"
	"time"

	"berth.dev/berth/nodes/gossip"
)

// leaveGrace is how long the nodes keep gossiping with a node a commit
// removed from the inventory: it keeps its pods while their replacements
// start elsewhere, and its disruption budgets need the others' ready
// pods, and the others its own, until they are gone. A daemon that stops
// leaves the ring at once.
const leaveGrace = 10 * time.Minute

// leftMember is a member a plan removed, and since when.
type leftMember struct {
	m     gossip.Member
	since time.Time
}

// withLeaving returns inv with the members the last plans removed within
// leaveGrace (this node too, when it is the one leaving), and records
// inv as the current members. The caller holds ps.mu.
func (ps *peers) withLeaving(inv []gossip.Member, now time.Time) []gossip.Member {
	if ps.left == nil {
		ps.left = map[string]leftMember{}
	}
	in := func(name string) bool {
		return slices.ContainsFunc(inv, func(m gossip.Member) bool { return m.Name == name })
	}
	for _, m := range ps.inventory {
		if _, ok := ps.left[m.Name]; !ok && !in(m.Name) {
			ps.left[m.Name] = leftMember{m: m, since: now}
		}
	}
	if len(inv) > 0 {
		ps.inventory = inv
	}
	out := slices.Clone(inv)
	for name, l := range ps.left {
		switch {
		case in(name) || now.Sub(l.since) > leaveGrace:
			delete(ps.left, name)
		default:
			out = append(out, l.m)
		}
	}
	slices.SortFunc(out, func(a, b gossip.Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}
