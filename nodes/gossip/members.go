package gossip

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"time"
)

// member is another inventory node as this node's memberlist sees it.
type member struct {
	alive     bool
	since     time.Time // of the last join or failure
	suspectAt time.Time // this node's probe failed (memberlist's log)
	// host is what a TCP dial to a failed node's peer port said: its
	// daemon is down but its host answers (hostUp), or nothing answers.
	hostUp    bool
	checked   bool
	checking  bool
	checkedAt time.Time
}

// state is m's state; a suspicion older than window (memberlist's
// longest) is over: the node refuted it, or it failed since.
func (m *member) state(now time.Time, window time.Duration) string {
	switch {
	case m.alive && !m.suspectAt.IsZero() && now.Sub(m.suspectAt) < window:
		return StateSuspect
	case m.alive:
		return StateAlive
	case m.since.IsZero():
		return StateUnknown
	}
	return StateFailed
}

// reachable: alive (a suspect still is: SWIM lets it refute), or failed
// with a host that refuses connections on the peer port — its daemon
// stopped or restarts, its pods and service rules keep serving — for
// QuietGrace; until the first check says, it keeps its share.
func (m *member) reachable(now time.Time, t Timing) bool {
	switch {
	case m.alive:
		return true
	case m.since.IsZero() || now.Sub(m.since) > t.QuietGrace:
		return false
	}
	return !m.checked || m.hostUp
}

func (c *Cluster) member(name string) *member {
	m := c.members[name]
	if m == nil {
		m = &member{}
		c.members[name] = m
	}
	return m
}

func (c *Cluster) memberEvent(name string, alive bool) {
	if name == c.cfg.Self.Name {
		if alive {
			c.alive.Add(1)
		}
		return
	}
	if alive {
		c.alive.Add(1)
	} else {
		c.alive.Add(-1)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.allowed(name) {
		return
	}
	m := c.member(name)
	if m.alive && !alive {
		c.log.Warn("node failed or left: no traffic to it unless its host answers (its daemon restarting)", "node", name)
	} else if !m.alive && alive && !m.since.IsZero() {
		c.log.Info("node is back", "node", name)
	}
	*m = member{alive: alive, since: time.Now()}
	c.changed, c.aliveDirty = true, true
	if c.onMember != nil {
		c.onMember(name, m.state(m.since, time.Hour))
	}
}

// suspected notes that this node's probe of name failed.
func (c *Cluster) suspected(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.members[name]; m != nil && m.alive {
		m.suspectAt = time.Now()
		c.changed = true
		if c.onMember != nil {
			c.onMember(name, StateSuspect)
		}
	}
}

// checkHosts dials the peer port of failed nodes whose check is due. The
// caller holds c.mu.
func (c *Cluster) checkHosts(now time.Time) {
	inv := *c.inv.Load()
	for name, m := range c.members {
		if m.alive || m.since.IsZero() || m.checking || now.Sub(m.since) > c.t.QuietGrace ||
			(m.checked && now.Sub(m.checkedAt) < c.t.HostCheck) {
			continue
		}
		ip := inv[name]
		if ip == nil {
			continue
		}
		m.checking = true
		since := m.since
		go func() {
			up := c.hostUp(net.JoinHostPort(ip.String(), strconv.Itoa(c.cfg.Port)))
			c.mu.Lock()
			defer c.mu.Unlock()
			m := c.members[name]
			if m == nil || !m.since.Equal(since) {
				return // it came back, or failed again, meanwhile
			}
			if !m.checked || m.hostUp != up {
				c.changed = true
				if !up {
					c.log.Warn("failed node's host does not answer either: no traffic to it", "node", name)
				}
			}
			m.checking, m.checked, m.hostUp, m.checkedAt = false, true, up, time.Now()
		}()
	}
}

// hostUp dials addr: a connection or an answer from the host's kernel
// means the host is there; a timeout or an unreachable network, not.
func (c *Cluster) hostUp(addr string) bool {
	dial := c.cfg.Dial
	if dial == nil {
		dial = net.DialTimeout
	}
	conn, err := dial("tcp", addr, c.t.DialTimeout)
	if err == nil {
		conn.Close()
		return true
	}
	return hostAnswered(err)
}

// hostAnswered: err is the host's kernel answering a connect with a
// reset. No listener: "connection refused". A listener closing while
// the connect is in its queue (the daemon stopping right then):
// "connection reset by peer", or aborted.
func hostAnswered(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED)
}
