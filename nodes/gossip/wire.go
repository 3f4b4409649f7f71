package gossip

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
)

// Message kinds, the first byte of every message this package puts on
// memberlist (user messages, broadcasts and push/pull state).
const (
	kindDelta    byte = 'D' // one version of an owner's state, gossiped
	kindSnapshot byte = 'S' // an owner's whole state, sent directly
	kindRequest  byte = 'Q' // "send me what follows my version", sent to the owner
	kindBatch    byte = 'B' // the owner's answer: the deltas that follow, when it still has them
	kindHeads    byte = 'H' // the versions of the owners that changed lately, to one random node
	kindState    byte = 'P' // push/pull: a digest of every owner, and the sender's snapshot
)

// Budgets of what a node accepts from another (hostile input is cheap).
const (
	maxName      = 253     // a node name: a DNS subdomain
	maxKey       = 512     // a workload key: Kind/namespace/name
	maxRevision  = 128     // a revision or plan hash
	maxFacts     = 4 << 10 // a node's revision facts (fleet.MaxBytes is 2 KB)
	maxServices  = 1 << 20 // entries of one table
	maxWorkloads = 1 << 16 // workloads one node tells
	maxCount     = 1 << 16 // a ready count (the plan caps it much lower)
	maxPods      = 1 << 16 // pods one node tells (a /24 holds 254)
	maxLabels    = 64      // labels of one pod
	maxLabel     = 317     // a label key (a 253-character prefix, "/", 63) or value
	maxIP        = 45      // an address
	maxOrdinals  = 1 << 18 // a StatefulSet's ordinals on one node, encoded
	// maxMessage bounds a snapshot or push/pull state; deltas are bounded
	// by the packet size (Timing.PacketSize).
	maxMessage = 8 << 20
)

// Delta flags.
const (
	// flagReset: the delta applies to an empty state, so a node that has
	// nothing of this owner (or lost track) can start from it.
	flagReset byte = 1 << iota
	// flagFetch: the change was too big to gossip; fetch a snapshot.
	flagFetch
	flagSummary
	flagFacts
	// flagHeadless: the ready pods of headless Services follow the
	// pod list.
	flagHeadless
)

// entry is one service's ready count, by index in a Table.
type entry struct {
	index uint32
	count uint32
}

// workloadEntry is one workload's rollout, or its removal.
type workloadEntry struct {
	key  string
	w    Workload
	gone bool
}

// headlessEntry is the ready pods of one headless Service on the owner,
// by index in a Table: the whole list, replacing the one before (empty:
// none ready).
type headlessEntry struct {
	index uint32
	pods  []PodAddress
}

// podEntry is one pod's address and labels, or its removal.
type podEntry struct {
	key  string
	pod  Pod
	gone bool
}

// size is about what the entry takes on the wire.
func (p podEntry) size() int {
	n := len(p.key) + len(p.pod.IP) + 8
	for k, v := range p.pod.Labels {
		n += len(k) + len(v) + 2
	}
	return n
}

// header identifies one version of an owner's state.
type header struct {
	owner   string
	epoch   uint64 // the owner's incarnation: versions count from 1 in each
	version uint64
	table   uint64 // the Table the entries' indexes refer to
}

// delta is one version of an owner's state: what changed since the
// version before it.
type delta struct {
	header
	flags     byte
	entries   []entry // by index, ascending
	workloads []workloadEntry
	summary   Summary
	pods      []podEntry
	facts     []byte          // with flagFacts
	headless  []headlessEntry // with flagHeadless, by index, ascending
}

// snapshot is an owner's whole state at one version.
type snapshot struct {
	header
	entries   []entry // the non-zero counts, by index
	workloads []workloadEntry
	summary   Summary
	pods      []podEntry
	facts     []byte
	headless  []headlessEntry // the non-empty lists, by index
}

// digestEntry is how far a node knows one owner.
type digestEntry struct {
	owner          string
	epoch, version uint64
}

// encoder appends to a buffer.
type encoder struct{ b []byte }

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) fixed64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) header(h header) {
	e.str(h.owner)
	e.uvarint(h.epoch)
	e.uvarint(h.version)
	e.fixed64(h.table)
}

func (e *encoder) entries(es []entry) {
	e.uvarint(uint64(len(es)))
	var last uint32
	for i, en := range es {
		d := en.index
		if i > 0 {
			d = en.index - last - 1 // ascending: the gap to the one before
		}
		e.uvarint(uint64(d))
		e.uvarint(uint64(en.count))
		last = en.index
	}
}

func (e *encoder) workloads(ws []workloadEntry) {
	e.uvarint(uint64(len(ws)))
	for _, w := range ws {
		e.str(w.key)
		e.str(w.w.Revision)
		var bits byte
		if w.w.Done {
			bits |= 1
		}
		if w.w.Available {
			bits |= 2
		}
		if w.gone {
			bits |= 4
		}
		if w.w.Ordinals != "" {
			bits |= 8 // the ordinals follow (a word without reads as before)
		}
		e.byte(bits)
		if w.w.Ordinals != "" {
			e.str(w.w.Ordinals)
		}
	}
}

// pods follow the summary only when there are some, or when the lists
// of headless Services follow them (then possibly none), so that a
// message without either reads as before (the daemons of a cluster
// without NetworkPolicies and headless Services never send any).
func (e *encoder) pods(ps []podEntry, headless bool) {
	if len(ps) == 0 && !headless {
		return
	}
	e.uvarint(uint64(len(ps)))
	for _, p := range ps {
		e.str(p.key)
		if p.gone {
			e.byte(1)
			continue
		}
		e.byte(0)
		e.str(p.pod.IP)
		e.uvarint(uint64(len(p.pod.Labels)))
		for _, k := range slices.Sorted(maps.Keys(p.pod.Labels)) {
			e.str(k)
			e.str(p.pod.Labels[k])
		}
	}
}

func (e *encoder) summary(s Summary) {
	e.str(s.Applied)
	e.str(s.PlanHash)
	e.uvarint(uint64(s.Ready))
	e.uvarint(uint64(s.Total))
	var bits byte
	if s.Converged {
		bits |= 1
	}
	if s.Suspended {
		bits |= 2
	}
	e.byte(bits)
	e.str(s.Health)
	e.str(s.Pinned)
}

// headless writes the lists of ready pods: a pod is its name (in its
// Service's namespace) and its address, 4 or 16 bytes.
func (e *encoder) headless(hs []headlessEntry) {
	e.uvarint(uint64(len(hs)))
	for _, h := range hs {
		e.uvarint(uint64(h.index))
		e.uvarint(uint64(len(h.pods)))
		for _, p := range h.pods {
			e.str(p.Name)
			ip := p.IP.AsSlice()
			e.byte(byte(len(ip)))
			e.b = append(e.b, ip...)
		}
	}
}

// headlessLen is what headless writes for h.
func headlessLen(h headlessEntry) int {
	n := uvarintLen(uint64(h.index)) + uvarintLen(uint64(len(h.pods)))
	for _, p := range h.pods {
		n += uvarintLen(uint64(len(p.Name))) + len(p.Name) + 1 + len(p.IP.AsSlice())
	}
	return n
}

func encodeDelta(d *delta) []byte {
	e := encoder{b: make([]byte, 0, 32+3*len(d.entries))}
	e.byte(kindDelta)
	e.header(d.header)
	e.byte(d.flags)
	e.entries(d.entries)
	e.workloads(d.workloads)
	if d.flags&flagSummary != 0 {
		e.summary(d.summary)
	}
	if d.flags&flagFacts != 0 {
		e.str(string(d.facts))
	}
	e.pods(d.pods, d.flags&flagHeadless != 0)
	if d.flags&flagHeadless != 0 {
		e.headless(d.headless)
	}
	return e.b
}

// encodeSnapshot writes s; the headless lists come last, and only when
// there are some, so a snapshot without them reads as before.
func encodeSnapshot(s *snapshot) []byte {
	e := encoder{b: make([]byte, 0, 64+3*len(s.entries))}
	e.byte(kindSnapshot)
	e.header(s.header)
	e.entries(s.entries)
	e.workloads(s.workloads)
	e.summary(s.summary)
	e.str(string(s.facts))
	e.pods(s.pods, len(s.headless) > 0)
	if len(s.headless) > 0 {
		e.headless(s.headless)
	}
	return e.b
}

// request asks owner for what follows version have of its epoch, or
// (snapshot) for its whole state: the deltas would not do.
type request struct {
	from, owner string
	epoch, have uint64
	snapshot    bool
}

// encodeRequest writes a snapshot request as one of epoch 0 and version
// 0: no incarnation has that epoch, so a node answers it with its
// snapshot even if it predates the flag.
func encodeRequest(r request) []byte {
	e := encoder{}
	e.byte(kindRequest)
	e.str(r.from)
	e.str(r.owner)
	if r.snapshot {
		r.epoch, r.have = 0, 0
	}
	e.uvarint(r.epoch)
	e.uvarint(r.have)
	return e.b
}

// encodeBatch puts encoded deltas in one message.
func encodeBatch(ds [][]byte) []byte {
	e := encoder{}
	e.byte(kindBatch)
	e.uvarint(uint64(len(ds)))
	for _, d := range ds {
		e.uvarint(uint64(len(d)))
		e.b = append(e.b, d...)
	}
	return e.b
}

func encodeHeads(heads []digestEntry) []byte {
	e := encoder{b: make([]byte, 0, 2+16*len(heads))}
	e.byte(kindHeads)
	e.digest(heads)
	return e.b
}

func (e *encoder) digest(ds []digestEntry) {
	e.uvarint(uint64(len(ds)))
	for _, d := range ds {
		e.str(d.owner)
		e.uvarint(d.epoch)
		e.uvarint(d.version)
	}
}

// encodeState is the push/pull state: a digest, then the sender's own
// snapshot (nil: none yet).
func encodeState(digest []digestEntry, own []byte) []byte {
	e := encoder{b: make([]byte, 0, 16+24*len(digest)+len(own))}
	e.byte(kindState)
	e.digest(digest)
	e.uvarint(uint64(len(own)))
	e.b = append(e.b, own...)
	return e.b
}

var errShort = errors.New("truncated")
