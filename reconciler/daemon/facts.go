package daemon

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sync"

	"berth.dev/berth/reconciler/fleet"
)

// factsBox holds this node's facts, encoded as gossip carries them
// (gossip.Local.Facts, encrypted and authenticated with the cluster
// key), and the last facts each other node told. They are the revision
// facts (gitops.Exchange, reconciler/fleet) and, beside them, the
// node's ready pods per PodDisruptionBudget (budget key to count): what
// a node about to stop pods that moved reads of the others. A node's
// revision facts stay after it stops answering (a failure it reported
// before going down still counts); its budget counts are read only
// while it is reachable.
type factsBox struct {
	mu      sync.Mutex
	fleet   fleet.Facts
	budgets map[string]int
	own     []byte
	raw     map[string][]byte // what each node sent last, to decode only changes
	peers   map[string]fleet.Facts
	counts  map[string]map[string]int // each node's budget counts
}

// maxBudgetKey bounds a budget key read from another node (a namespace,
// '/', a name).
const maxBudgetKey = 63 + 1 + 253

// factsWire is what goes on the wire: fleet.Decode reads the revision
// facts and ignores the budget counts, which travel within the same
// fleet.MaxBytes.
type factsWire struct {
	fleet.Facts
	Budgets map[string]int `json:"budgets,omitempty"`
}

func (b *factsBox) encoded() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.own
}

// encodeLocked makes own from the revision facts and the budget counts;
// counts that do not fit fleet.MaxBytes are left out (by key, the last
// first): the others then count none there, which holds a drain longer,
// never shorter.
func (b *factsBox) encodeLocked() {
	base := b.fleet.Encode()
	w := factsWire{Budgets: maps.Clone(b.budgets)}
	if err := json.Unmarshal(base, &w.Facts); err != nil || len(w.Budgets) == 0 {
		b.own = base
		return
	}
	keys := slices.Sorted(maps.Keys(w.Budgets))
	for {
		out, err := json.Marshal(w)
		if err == nil && len(out) <= fleet.MaxBytes {
			b.own = out
			return
		}
		if len(keys) == 0 {
			b.own = base
			return
		}
		delete(w.Budgets, keys[len(keys)-1])
		keys = keys[:len(keys)-1]
	}
}

// setBudgets takes this node's ready pods per budget; it reports whether
// they changed.
func (b *factsBox) setBudgets(counts map[string]int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if maps.Equal(counts, b.budgets) {
		return false
	}
	b.budgets = counts
	b.encodeLocked()
	return true
}

// learn takes what a node told; garbage or an oversized message is
// ignored (fleet.Decode).
func (b *factsBox) learn(node string, raw []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(raw) == 0 || bytes.Equal(b.raw[node], raw) {
		return
	}
	if b.raw == nil {
		b.raw, b.peers, b.counts = map[string][]byte{}, map[string]fleet.Facts{}, map[string]map[string]int{}
	}
	b.raw[node] = raw
	f, ok := fleet.Decode(raw)
	if !ok {
		return
	}
	b.peers[node] = f
	var w struct {
		Budgets map[string]int `json:"budgets"`
	}
	_ = json.Unmarshal(raw, &w)
	counts := map[string]int{}
	for k, c := range w.Budgets {
		if len(k) <= maxBudgetKey && c > 0 && c <= 1<<16 {
			counts[k] = c
		}
	}
	b.counts[node] = counts
}

// PublishFacts implements gitops.Exchange: they go out with this node's
// next gossip publication.
func (ps *peers) PublishFacts(f fleet.Facts) {
	ps.facts.mu.Lock()
	ps.facts.fleet = f
	ps.facts.encodeLocked()
	ps.facts.mu.Unlock()
}

// PeerFacts implements gitops.Exchange: the facts of the other nodes of
// the inventory, as gossip last brought them.
func (ps *peers) PeerFacts() map[string]fleet.Facts {
	ps.learnFacts()
	ps.facts.mu.Lock()
	defer ps.facts.mu.Unlock()
	return maps.Clone(ps.facts.peers)
}

func (ps *peers) learnFacts() []string {
	var reachable []string
	for _, p := range ps.members() {
		if p.Known {
			ps.facts.learn(p.Name, p.Facts)
		}
		if p.Known && p.Reachable {
			reachable = append(reachable, p.Name)
		}
	}
	return reachable
}

// budgetCounts are the ready pods per budget key of each reachable
// node, as gossip last brought them; ok is false when this node does
// not gossip (no word from any node can come).
func (ps *peers) budgetCounts() (map[string]map[string]int, bool) {
	ps.mu.Lock()
	gossiping := ps.ring != nil
	ps.mu.Unlock()
	if !gossiping {
		return nil, false
	}
	out := map[string]map[string]int{}
	reachable := ps.learnFacts()
	ps.facts.mu.Lock()
	defer ps.facts.mu.Unlock()
	for _, n := range reachable {
		out[n] = maps.Clone(ps.facts.counts[n])
	}
	return out, true
}
