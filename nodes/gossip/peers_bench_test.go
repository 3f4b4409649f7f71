package gossip

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkPeers is what one call of Peers costs a node of a 100- or
// 1,000-node inventory that knows every other node's ready counts of
// 2,000 Services (the daemon calls it on every reconcile a gossip change
// pokes, up to 10 a second), with the counts of two owners changed since
// the call before (20 changes a second cluster-wide).
func BenchmarkPeers(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			const S = 2000
			keys := make([]string, S)
			for i := range keys {
				keys[i] = fmt.Sprintf("ns-%02d/svc-%04d", i%50, i)
			}
			table := NewTable(keys)
			inv := make([]Member, n)
			for i := range inv {
				inv[i] = Member{Name: fmt.Sprintf("m%04d", i), Addr: loopback(i)}
			}
			c := &Cluster{cfg: Config{Self: inv[0]}, t: LAN(), members: map[string]*member{}}
			c.setInventory(inv)
			c.reps = newReplicas(inv[0].Name, c.allowed, time.Second, time.Second)
			c.reps.setTable(table)
			vals := newCounts(S)
			for i := range S {
				vals.v[i] = uint8(i % 4)
			}
			for _, m := range inv[1:] {
				*c.reps.get(m.Name) = replica{epoch: 1, version: 1, table: table.ID, complete: true, counts: counts{v: slices.Clone(vals.v)}}
				c.members[m.Name] = &member{alive: true, since: time.Now()}
			}
			c.alive.Store(int64(n))
			c.Peers()
			b.ResetTimer()
			for i := range b.N {
				for _, m := range []string{inv[1+i%(n-1)].Name, inv[1+(i+n/2)%(n-1)].Name} {
					c.reps.owners[m].readyMap = nil
				}
				if len(c.Peers()) != n-1 {
					b.Fatal("peers missing")
				}
			}
		})
	}
}
