package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// Timing is the gossip layer's clockwork. The zero value of a field takes
// the LAN default (LAN); simulations raise intervals to save CPU.
type Timing struct {
	// ProbeInterval is how often a node probes one other node (SWIM);
	// ProbeTimeout how long it waits for the ack before asking others to
	// probe it. SuspicionMult scales how long a suspect node has to refute
	// before it is declared failed: SuspicionMult × log10(N) ×
	// ProbeInterval, shortened by confirmations from other probers.
	ProbeInterval, ProbeTimeout time.Duration
	SuspicionMult               int
	SuspicionMaxTimeoutMult     int
	// GossipInterval and GossipNodes: every GossipInterval a node sends
	// what is queued to GossipNodes random nodes; RetransmitMult ×
	// log10(N+1) is how often each message is sent on by each node.
	GossipInterval time.Duration
	GossipNodes    int
	RetransmitMult int
	// PushPullInterval is the full-state exchange with one random node
	// (scaled up by memberlist past 32 nodes).
	PushPullInterval time.Duration
	// GossipToTheDead keeps gossiping to a failed node that long, so a
	// node back from a cut refutes quickly.
	GossipToTheDead time.Duration
	// PacketSize is the UDP payload (memberlist's UDPBufferSize).
	PacketSize int
	// TCPTimeout bounds a push/pull or direct message.
	TCPTimeout time.Duration

	// Flush is how often this node's changes go out; Notify how often at
	// most OnChange is called.
	Flush, Notify time.Duration
	// GapWait is how long a missing delta is waited for before the
	// owner's snapshot is fetched; Retry the wait between two fetches.
	GapWait, Retry time.Duration
	// Heads is how often a node tells one random other node the versions
	// of the owners that moved in the last HeadsWindow: a node that
	// missed the last delta of an owner learns it within about a second.
	Heads, HeadsWindow time.Duration
	// Reconnect is how often a node tries to join the inventory members
	// it does not see alive.
	Reconnect time.Duration
	// QuietGrace is how long a failed node whose host still refuses
	// connections (its daemon restarts) keeps its share; HostCheck how
	// often that is checked again, DialTimeout how long one check waits.
	QuietGrace, HostCheck, DialTimeout time.Duration
	// MaxQueue bounds the broadcast queue; ServeRate and ServeBurst the
	// snapshots a node sends per second.
	MaxQueue   int
	ServeRate  float64
	ServeBurst int
}

// LAN is the default Timing, tuned for a LAN (sub-millisecond round
// trips): a node that stops answering is declared failed in about 1 s
// on 3 nodes, and the delay grows with log10 of the cluster size
// (docs/multinode.md has the measurements).
func LAN() Timing {
	return Timing{
		ProbeInterval:           300 * time.Millisecond,
		ProbeTimeout:            150 * time.Millisecond,
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 4,
		GossipInterval:          100 * time.Millisecond,
		GossipNodes:             3,
		RetransmitMult:          3,
		PushPullInterval:        30 * time.Second,
		GossipToTheDead:         30 * time.Second,
		PacketSize:              1400,
		TCPTimeout:              2 * time.Second,
		Flush:                   100 * time.Millisecond,
		Notify:                  100 * time.Millisecond,
		GapWait:                 time.Second,
		Heads:                   500 * time.Millisecond,
		HeadsWindow:             5 * time.Second,
		Retry:                   3 * time.Second,
		Reconnect:               2 * time.Second,
		QuietGrace:              5 * time.Minute,
		HostCheck:               5 * time.Second,
		DialTimeout:             500 * time.Millisecond,
		MaxQueue:                4096,
		ServeRate:               100,
		ServeBurst:              200,
	}
}

func (t Timing) withDefaults() Timing {
	d := LAN()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	seti := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&t.ProbeInterval, d.ProbeInterval)
	set(&t.ProbeTimeout, min(d.ProbeTimeout, t.ProbeInterval/2))
	seti(&t.SuspicionMult, d.SuspicionMult)
	seti(&t.SuspicionMaxTimeoutMult, d.SuspicionMaxTimeoutMult)
	set(&t.GossipInterval, d.GossipInterval)
	seti(&t.GossipNodes, d.GossipNodes)
	seti(&t.RetransmitMult, d.RetransmitMult)
	set(&t.PushPullInterval, d.PushPullInterval)
	set(&t.GossipToTheDead, d.GossipToTheDead)
	seti(&t.PacketSize, d.PacketSize)
	set(&t.TCPTimeout, d.TCPTimeout)
	set(&t.Flush, d.Flush)
	set(&t.Notify, d.Notify)
	set(&t.GapWait, d.GapWait)
	set(&t.Retry, d.Retry)
	set(&t.Heads, d.Heads)
	set(&t.HeadsWindow, d.HeadsWindow)
	set(&t.Reconnect, d.Reconnect)
	set(&t.QuietGrace, d.QuietGrace)
	set(&t.HostCheck, d.HostCheck)
	set(&t.DialTimeout, d.DialTimeout)
	seti(&t.MaxQueue, d.MaxQueue)
	seti(&t.ServeBurst, d.ServeBurst)
	if t.ServeRate <= 0 {
		t.ServeRate = d.ServeRate
	}
	t.PacketSize = max(t.PacketSize, 800)
	return t
}

// apply sets memberlist's side of t.
func (t Timing) apply(mc *memberlist.Config) {
	mc.ProbeInterval, mc.ProbeTimeout = t.ProbeInterval, t.ProbeTimeout
	mc.SuspicionMult, mc.SuspicionMaxTimeoutMult = t.SuspicionMult, t.SuspicionMaxTimeoutMult
	mc.GossipInterval, mc.GossipNodes, mc.RetransmitMult = t.GossipInterval, t.GossipNodes, t.RetransmitMult
	mc.PushPullInterval, mc.GossipToTheDeadTime = t.PushPullInterval, t.GossipToTheDead
	mc.UDPBufferSize, mc.TCPTimeout = t.PacketSize, t.TCPTimeout
}

// suspicion is how long memberlist keeps a node suspect at most, for n
// nodes (its suspicionTimeout × SuspicionMaxTimeoutMult): past it a
// suspicion this node noted is stale.
func (t Timing) suspicion(n int) time.Duration {
	scale := 1.0
	for x := float64(n); x >= 10; x /= 10 {
		scale++
	}
	return time.Duration(float64(t.SuspicionMult*t.SuspicionMaxTimeoutMult) * scale * float64(t.ProbeInterval))
}
