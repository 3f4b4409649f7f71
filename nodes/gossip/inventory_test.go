package gossip

import (
	"testing"
	"time"
)

// TestLeaveAndReturnToInventory: a node taken out of the inventory by a
// commit and put back by the next is known again to every member, with
// its state, although its daemon ran all along (memberlist never saw it
// go, so it tells of no join).
func TestLeaveAndReturnToInventory(t *testing.T) {
	r := newRing(t, 3)
	for _, c := range r.nodes {
		c.Publish(Local{Ready: map[string]int{"default/web": 1}, Summary: Summary{Applied: "rev1"}})
	}
	known := func(rev string) func(int, *Cluster) bool {
		return func(i int, c *Cluster) bool {
			for j := range r.members {
				if j == i {
					continue
				}
				if p := peer(c, r.members[j].Name); p.State != StateAlive || !p.Known || p.Summary.Applied != rev {
					return false
				}
			}
			return true
		}
	}
	r.eventually("every member known", 20*time.Second, known("rev1"))
	without := r.members[:2]
	for _, c := range r.nodes {
		c.SetInventory(without)
	}
	r.eventually("m02 forgotten", 10*time.Second, func(i int, c *Cluster) bool {
		p := peer(c, "m02")
		return i == 2 || p.Name == "" || p.State == StateUnknown
	})
	for _, c := range r.nodes {
		c.SetInventory(r.members)
	}
	for _, c := range r.nodes {
		c.Publish(Local{Ready: map[string]int{"default/web": 1}, Summary: Summary{Applied: "rev2"}})
	}
	took := r.eventually("m02 back, with its state", 20*time.Second, known("rev2"))
	t.Logf("every member knows every other again %v after the inventory took m02 back", took.Round(time.Millisecond))
}
