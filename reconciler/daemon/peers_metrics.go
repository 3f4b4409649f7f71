package daemon

import (
	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/nodes/gossip"
)

// peerCollector reports the gossip layer at scrape time: each other
// node's reachability, the members by state, and the bytes on the wire.
type peerCollector struct {
	peers     *peers
	reachable *prometheus.Desc
	members   *prometheus.Desc
	bytes     *prometheus.Desc
	refused   *prometheus.Desc
	dropped   *prometheus.Desc
	queued    *prometheus.Desc
	sent      *prometheus.Desc
	sentBytes *prometheus.Desc
}

func newPeerMetrics(reg prometheus.Registerer, ps *peers) {
	reg.MustRegister(&peerCollector{
		peers: ps,
		reachable: prometheus.NewDesc("berth_peer_reachable", "1 when another node of the inventory gets traffic by its readiness (alive, or its daemon restarting while its host answers), 0 when it failed (no traffic); absent while unknown.",
			[]string{"node"}, nil),
		members: prometheus.NewDesc("berth_gossip_members", "The other nodes of the inventory by gossip state: alive, suspect (this node's probes failed), failed, unknown (never seen).",
			[]string{"state"}, nil),
		bytes:   prometheus.NewDesc("berth_gossip_bytes_total", "Bytes of gossip (UDP and TCP, encrypted) this node sent (out) and received (in).", []string{"direction"}, nil),
		refused: prometheus.NewDesc("berth_gossip_refused_total", "Nodes refused as members: not in the inventory, or not at its address and port.", nil, nil),
		dropped: prometheus.NewDesc("berth_gossip_dropped_total", "Gossip messages dropped: malformed, over budget, or about a node outside the inventory.", nil, nil),
		queued:  prometheus.NewDesc("berth_gossip_queue", "Readiness deltas waiting in the broadcast queue.", nil, nil),
		sent: prometheus.NewDesc("berth_gossip_state_sent_total", "What this node sent of its own state, by kind: delta (queued for gossip), repair (a delta sent again to a node that missed it), snapshot (its whole state, to a node that asked), pushpull (its digest and snapshot in a periodic full exchange).",
			[]string{"kind"}, nil),
		sentBytes: prometheus.NewDesc("berth_gossip_state_sent_bytes_total", "Bytes of this node's own state sent, by kind (delta, snapshot, pushpull), before memberlist's framing and encryption.",
			[]string{"kind"}, nil),
	})
}

func (c *peerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.reachable, c.members, c.bytes, c.refused, c.dropped, c.queued, c.sent, c.sentBytes} {
		ch <- d
	}
}

func (c *peerCollector) Collect(ch chan<- prometheus.Metric) {
	for name, p := range c.peers.Peers() {
		v := 0.0
		if p.Reachable {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.reachable, prometheus.GaugeValue, v, name)
	}
	st, ok := c.peers.stats()
	if !ok {
		return
	}
	for state, n := range map[string]int{gossip.StateAlive: st.Alive, gossip.StateSuspect: st.Suspect, gossip.StateFailed: st.Failed, gossip.StateUnknown: st.Unknown} {
		ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(st.BytesIn), "in")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(st.BytesOut), "out")
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(st.Refused))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(st.Dropped))
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(st.Queued))
	for kind, n := range map[string]uint64{"delta": st.Deltas, "repair": st.Repairs, "snapshot": st.Snapshots, "pushpull": st.PushPulls} {
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(n), kind)
	}
	for kind, n := range map[string]uint64{"delta": st.DeltaBytes, "snapshot": st.SnapshotBytes, "pushpull": st.PushPullBytes} {
		ch <- prometheus.MustNewConstMetric(c.sentBytes, prometheus.CounterValue, float64(n), kind)
	}
}
