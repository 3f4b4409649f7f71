package daemon

import (
	"bytes"
	"maps"
	"sync"

	"berth.dev/berth/reconciler/fleet"
)

// factsBox holds this node's revision facts, encoded as gossip carries
// them (gossip.Local.Facts, encrypted and authenticated with the cluster
// key), and the last facts each other node told (gitops.Exchange). A
// node's facts stay after it stops answering: a failure it reported
// before going down still counts.
type factsBox struct {
	mu    sync.Mutex
	own   []byte
	raw   map[string][]byte // what each node sent last, to decode only changes
	peers map[string]fleet.Facts
}

func (b *factsBox) encoded() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.own
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
		b.raw, b.peers = map[string][]byte{}, map[string]fleet.Facts{}
	}
	b.raw[node] = raw
	if f, ok := fleet.Decode(raw); ok {
		b.peers[node] = f
	}
}

// PublishFacts implements gitops.Exchange: they go out with this node's
// next gossip publication.
func (ps *peers) PublishFacts(f fleet.Facts) {
	b := f.Encode()
	ps.facts.mu.Lock()
	ps.facts.own = b
	ps.facts.mu.Unlock()
}

// PeerFacts implements gitops.Exchange: the facts of the other nodes of
// the inventory, as gossip last brought them.
func (ps *peers) PeerFacts() map[string]fleet.Facts {
	for _, p := range ps.members() {
		if p.Known {
			ps.facts.learn(p.Name, p.Facts)
		}
	}
	ps.facts.mu.Lock()
	defer ps.facts.mu.Unlock()
	return maps.Clone(ps.facts.peers)
}
