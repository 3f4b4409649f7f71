package gossip

import (
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// reconnect joins the inventory members memberlist does not count alive:
// at start (seeds), and then every Timing.Reconnect, at most 3 at a
// time, so that a node back from a partition, or one that started later
// or was missed by the gossip of joins, is found again. Each member is
// retried with a back-off (Reconnect doubling to a minute): a node that
// stays down is not flooded by every other node.
func (c *Cluster) reconnect(first bool) {
	defer c.wg.Done()
	tick := time.NewTicker(c.t.Reconnect)
	defer tick.Stop()
	retry := map[string]time.Time{}
	wait := map[string]time.Duration{}
	for {
		c.joinSome(first, retry, wait)
		first = false
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
	}
}

func (c *Cluster) joinSome(first bool, retry map[string]time.Time, wait map[string]time.Duration) {
	inv := *c.inv.Load()
	now := time.Now()
	c.mu.Lock()
	var down []string
	for name := range inv {
		if name == c.cfg.Self.Name {
			continue
		}
		if m := c.members[name]; m == nil || !m.alive {
			if now.After(retry[name]) {
				down = append(down, name)
			}
		} else {
			delete(retry, name)
			delete(wait, name)
		}
	}
	c.mu.Unlock()
	if len(down) == 0 || !c.joining.CompareAndSwap(false, true) {
		return
	}
	// Many down is a start or a big partition: memberlist's own gossip
	// (to failed nodes too, for GossipToTheDead) does most of the work,
	// and across a big cluster only a few nodes try each round. A few
	// down is a straggler: try them.
	p := 1.0
	if alive := c.alive.Load(); !first && len(down) > 3 && alive > 8 {
		p = 8 / float64(alive)
	}
	rand.Shuffle(len(down), func(i, j int) { down[i], down[j] = down[j], down[i] })
	var addrs []string
	for _, name := range down {
		if len(addrs) == 3 {
			break
		}
		if rand.Float64() >= p {
			continue
		}
		addrs = append(addrs, net.JoinHostPort(inv[name].String(), strconv.Itoa(c.cfg.Port)))
		w := min(max(2*wait[name], c.t.Reconnect), time.Minute)
		if first {
			w = c.t.Reconnect
		}
		wait[name] = w
		retry[name] = now.Add(w/2 + rand.N(w/2+1))
	}
	if len(addrs) == 0 {
		c.joining.Store(false)
		return
	}
	go func() {
		defer c.joining.Store(false)
		if _, err := c.ml.Join(addrs); err != nil {
			c.log.Debug("join other nodes", "addrs", addrs, "err", err)
		}
	}()
}
