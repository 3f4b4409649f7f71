package daemon

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/gossip"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/nodeapi"
)

// membership is the gossip layer as the daemon uses it (nodes/gossip).
type membership interface {
	SetInventory([]gossip.Member)
	SetTable(*gossip.Table)
	Publish(gossip.Local)
	Peers() []gossip.Peer
	Stats() gossip.Stats
	SetKeys([][]byte) error
	Close() error
}

// local is what this node tells the others.
type local interface {
	LocalReady() (map[string]int, bool)
	LocalHeadless() map[string]map[string]string
	LocalProgress() map[string]reconciler.PeerWorkload
	LocalPods() []reconciler.PeerPod
}

// publishEvery is how often this node's readiness is read and handed to
// the gossip layer (which sends what changed); summaryEvery its summary
// for `berth status --cluster`; keysEvery how often the key file is
// checked for a rotation.
const (
	publishEvery = 100 * time.Millisecond
	summaryEvery = 500 * time.Millisecond
	keysEvery    = 10 * time.Second
)

// peers shares this node's readiness with the other nodes of the
// inventory and learns theirs (reconciler.PeerReadiness) over gossip
// (nodes/gossip: memberlist, encrypted with --peer-key-file, members
// admitted by the inventory only).
//
//   - A node that is alive tells its ready pods per service; its share
//     follows them.
//   - A node that fails (SWIM declares it failed within a few probe
//     intervals) gets no traffic, unless its host still refuses
//     connections on the peer port: its daemon is down or restarting
//     while its pods and rules serve, and it keeps what it said last.
//   - A node that never joined (no berth there, or the port blocked) is
//     left to the schedule's weights.
type peers struct {
	cfg  *Config
	log  *slog.Logger
	self func() local // this node's reconciler (nil until it starts)
	poke func()       // what this node knows changed
	// summary, when set before the first plan, is this node for
	// `berth status --cluster`.
	summary func() nodeapi.NodeSummary
	// budgets, when set, are this node's ready pods per disruption
	// budget, told with the facts (facts.go).
	budgets func() map[string]int
	// join starts the gossip layer (gossip.New; tests replace it).
	join func(gossip.Config, []gossip.Member) (membership, error)

	mu     sync.Mutex
	ring   membership
	others []string // the other inventory nodes with an address
	// inventory is the members as the last plan had them; left those a
	// plan removed since, kept in the ring for leaveGrace (leaving.go).
	inventory []gossip.Member
	left      map[string]leftMember
	warned    string // the last start error logged
	// facts are this node's revision facts and the others' (facts.go).
	facts factsBox
}

func newPeers(cfg *Config, self func() local, poke func()) *peers {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &peers{cfg: cfg, log: log.With("component", "peers"), self: self, poke: poke,
		join: func(c gossip.Config, inv []gossip.Member) (membership, error) { return gossip.New(c, inv) }}
}

// update takes the inventory and Services of p. The first plan with
// other nodes joins the gossip ring, until ctx ends.
func (ps *peers) update(ctx context.Context, p *plan.Plan) {
	if ps.cfg.PeerPort <= 0 {
		return
	}
	var self gossip.Member
	var inv []gossip.Member
	var others []string
	for _, n := range p.Nodes {
		if n.Node.Address == "" {
			continue
		}
		m := gossip.Member{Name: n.Node.Name, Addr: n.Node.Address}
		inv = append(inv, m)
		if m.Name == ps.cfg.Node {
			self = m
		} else {
			others = append(others, m.Name)
		}
	}
	table := gossip.NewTable(serviceKeys(p))
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.others = others
	inv = ps.withLeaving(inv, time.Now())
	if self.Addr == "" {
		// This node left the inventory: it gossips as it was, while
		// it drains (leaving.go).
		if i := slices.IndexFunc(inv, func(m gossip.Member) bool { return m.Name == ps.cfg.Node }); i >= 0 {
			self = inv[i]
		}
	}
	if ps.ring != nil {
		ps.ring.SetInventory(inv)
		ps.ring.SetTable(table)
		return
	}
	if len(others) == 0 || self.Addr == "" {
		return
	}
	ring, err := ps.start(self, inv)
	if err != nil {
		if err.Error() != ps.warned {
			ps.log.Error("readiness exchange with the other nodes is off: their traffic to this node follows the schedule, not readiness",
				"err", err)
			ps.warned = err.Error()
		}
		return
	}
	ring.SetTable(table)
	ps.ring = ring
	go ps.run(ctx, ring)
}

func (ps *peers) start(self gossip.Member, inv []gossip.Member) (membership, error) {
	var keys [][]byte
	if ps.cfg.PeerKeyFile != "" {
		k, err := gossip.ReadKeyFile(ps.cfg.PeerKeyFile)
		if err != nil {
			return nil, err
		}
		keys = k
	}
	return ps.join(gossip.Config{
		Self: self, Port: ps.cfg.PeerPort, Keys: keys, Logger: ps.log,
		Timing:   gossip.Timing{ProbeInterval: ps.cfg.PeerInterval},
		OnChange: ps.poke,
	}, inv)
}

// serviceKeys are the plan's Services (the gossip table).
func serviceKeys(p *plan.Plan) []string {
	out := make([]string, 0, len(p.Services))
	for i := range p.Services {
		out = append(out, p.Services[i].Key())
	}
	return out
}

// run publishes this node's readiness as it changes, reloads the key
// file when it changes, and leaves the ring when ctx ends.
func (ps *peers) run(ctx context.Context, ring membership) {
	tick := time.NewTicker(publishEvery)
	defer tick.Stop()
	var sum nodeapi.NodeSummary
	var sumAt, keysAt time.Time
	var keysMod time.Time
	if st, err := os.Stat(ps.cfg.PeerKeyFile); err == nil {
		keysMod = st.ModTime()
	}
	for {
		select {
		case <-ctx.Done():
			if err := ring.Close(); err != nil {
				ps.log.Warn("leave the gossip ring", "err", err)
			}
			return
		case <-tick.C:
		}
		now := time.Now()
		if ps.summary != nil && now.Sub(sumAt) >= summaryEvery {
			sum, sumAt = ps.summary(), now
		}
		if ps.budgets != nil {
			ps.facts.setBudgets(ps.budgets())
		}
		if l := ps.self(); l != nil {
			if ready, ok := l.LocalReady(); ok {
				ring.Publish(gossip.Local{Ready: ready, Headless: headlessToGossip(l.LocalHeadless()), Workloads: toGossip(l.LocalProgress()), Pods: podsToGossip(l.LocalPods()), Summary: gossip.Summary{
					Applied: sum.Applied, PlanHash: sum.PlanHash, Ready: sum.Ready, Total: sum.Total, Converged: sum.Converged,
					Health: sum.Health, Suspended: sum.Suspended, Pinned: sum.Pinned}, Facts: ps.facts.encoded()})
			}
		}
		if now.Sub(keysAt) >= keysEvery {
			keysAt = now
			keysMod = ps.reloadKeys(ring, keysMod)
		}
	}
}

// reloadKeys installs the key file's keys when it changed (a rotation,
// docs/multinode.md).
func (ps *peers) reloadKeys(ring membership, mod time.Time) time.Time {
	st, err := os.Stat(ps.cfg.PeerKeyFile)
	if err != nil || st.ModTime().Equal(mod) {
		return mod
	}
	keys, err := gossip.ReadKeyFile(ps.cfg.PeerKeyFile)
	if err == nil {
		err = ring.SetKeys(keys)
	}
	if err != nil {
		ps.log.Error("peer key file changed but cannot be used; the node keeps its keys", "err", err)
		return st.ModTime()
	}
	ps.log.Info("peer keys reloaded", "keys", len(keys))
	return st.ModTime()
}

func toGossip(ws map[string]reconciler.PeerWorkload) map[string]gossip.Workload {
	out := make(map[string]gossip.Workload, len(ws))
	for k, w := range ws {
		out[k] = gossip.Workload{Revision: w.Revision, Done: w.Done, Available: w.Available, Ordinals: reconciler.EncodeOrdinals(w.Ordinals)}
	}
	return out
}

// workloadFromGossip is another node's word for one workload; ok is
// false when its ordinals cannot be read (then it is as if it said
// nothing of the workload).
func workloadFromGossip(w gossip.Workload) (reconciler.PeerWorkload, bool) {
	os, err := reconciler.DecodeOrdinals(w.Ordinals)
	return reconciler.PeerWorkload{Revision: w.Revision, Done: w.Done, Available: w.Available, Ordinals: os}, err == nil
}

// headlessToGossip and headlessFromGossip convert the ready pods of
// headless services (pod name to address, by service) to and from the
// wire's form.
func headlessToGossip(hs map[string]map[string]string) map[string][]gossip.PodAddress {
	out := make(map[string][]gossip.PodAddress, len(hs))
	for svc, pods := range hs {
		for name, ip := range pods {
			if a, err := netip.ParseAddr(ip); err == nil {
				out[svc] = append(out[svc], gossip.PodAddress{Name: name, IP: a})
			}
		}
	}
	return out
}

func headlessFromGossip(hs map[string][]gossip.PodAddress) map[string]map[string]string {
	if len(hs) == 0 {
		return nil
	}
	out := make(map[string]map[string]string, len(hs))
	for svc, pods := range hs {
		m := make(map[string]string, len(pods))
		for _, p := range pods {
			m[p.Name] = p.IP.String()
		}
		out[svc] = m
	}
	return out
}

// podsToGossip and podsFromGossip carry the pods NetworkPolicies select
// (reconciler.PeerPod) by key.
func podsToGossip(ps []reconciler.PeerPod) map[string]gossip.Pod {
	if len(ps) == 0 {
		return nil
	}
	out := make(map[string]gossip.Pod, len(ps))
	for _, p := range ps {
		out[p.Namespace+"/"+p.Name] = gossip.Pod{IP: p.IP, Labels: p.Labels}
	}
	return out
}

func podsFromGossip(ps map[string]gossip.Pod) []reconciler.PeerPod {
	if len(ps) == 0 {
		return nil
	}
	out := make([]reconciler.PeerPod, 0, len(ps))
	for _, key := range slices.Sorted(maps.Keys(ps)) {
		ns, name, ok := strings.Cut(key, "/")
		if !ok {
			continue
		}
		out = append(out, reconciler.PeerPod{Namespace: ns, Name: name, IP: ps[key].IP, Labels: ps[key].Labels})
	}
	return out
}

func (ps *peers) members() []gossip.Peer {
	ps.mu.Lock()
	ring := ps.ring
	ps.mu.Unlock()
	if ring == nil {
		return nil
	}
	return ring.Peers()
}

// Peers is what this node knows of the others (reconciler.Options.Peers):
// a node it has seen is weighed by what it told, or cut when it failed
// for good; a node it never saw is left out (the schedule decides).
func (ps *peers) Peers() map[string]reconciler.PeerReadiness {
	out := map[string]reconciler.PeerReadiness{}
	for _, p := range ps.members() {
		switch {
		case p.State == gossip.StateUnknown:
		case !p.Reachable:
			out[p.Name] = reconciler.PeerReadiness{}
		case p.Known:
			ws := make(map[string]reconciler.PeerWorkload, len(p.Workloads))
			for k, w := range p.Workloads {
				if pw, ok := workloadFromGossip(w); ok {
					ws[k] = pw
				}
			}
			out[p.Name] = reconciler.PeerReadiness{Reachable: true, Ready: p.Ready, Headless: headlessFromGossip(p.Headless), Workloads: ws, Pods: podsFromGossip(p.Pods)}
		}
	}
	return out
}

// Cluster is this node and the others, as the gossip state has them (the
// node API's GET /v1/cluster).
func (ps *peers) Cluster() []nodeapi.NodeSummary {
	var out []nodeapi.NodeSummary
	if ps.summary != nil {
		s := ps.summary()
		s.State = gossip.StateAlive
		out = append(out, s)
	}
	ms := ps.members()
	if ms == nil {
		// Not gossiping (yet): the inventory, with nothing known.
		ps.mu.Lock()
		for _, n := range ps.others {
			ms = append(ms, gossip.Peer{Name: n, State: gossip.StateUnknown})
		}
		ps.mu.Unlock()
	}
	for _, p := range ms {
		s := nodeapi.NodeSummary{Node: p.Name, State: p.State, Answers: p.State == gossip.StateAlive || p.State == gossip.StateSuspect}
		if p.Known {
			s.Applied, s.PlanHash, s.Ready, s.Total, s.Converged = p.Summary.Applied, p.Summary.PlanHash, p.Summary.Ready, p.Summary.Total, p.Summary.Converged
			s.Health, s.Suspended, s.Pinned = p.Summary.Health, p.Summary.Suspended, p.Summary.Pinned
		}
		out = append(out, s)
	}
	return out
}

// stats are the gossip counters (zero before the ring starts).
func (ps *peers) stats() (gossip.Stats, bool) {
	ps.mu.Lock()
	ring := ps.ring
	ps.mu.Unlock()
	if ring == nil {
		return gossip.Stats{}, false
	}
	return ring.Stats(), true
}
