package daemon

import (
	"maps"
	"sync"

	"berth.dev/berth/reconciler/fleet"
)

// factsBox holds this node's revision facts, encoded as the peer
// exchange carries them, and the last facts each other node told
// (gitops.Exchange). A node's facts stay after it stops answering: a
// failure it reported before going down still counts.
type factsBox struct {
	mu    sync.Mutex
	own   []byte
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
	f, ok := fleet.Decode(raw)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.peers == nil {
		b.peers = map[string]fleet.Facts{}
	}
	b.peers[node] = f
}

// PublishFacts implements gitops.Exchange: the others read them with this
// node's readiness.
func (ps *peers) PublishFacts(f fleet.Facts) {
	b := f.Encode()
	ps.facts.mu.Lock()
	ps.facts.own = b
	ps.facts.mu.Unlock()
}

// PeerFacts implements gitops.Exchange.
func (ps *peers) PeerFacts() map[string]fleet.Facts {
	ps.facts.mu.Lock()
	defer ps.facts.mu.Unlock()
	return maps.Clone(ps.facts.peers)
}
