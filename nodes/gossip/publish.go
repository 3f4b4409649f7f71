package gossip

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"maps"
	"slices"
	"strings"
	"time"
)

// maxChunks is how many deltas one change may take; a bigger change (a
// node starting with thousands of ready Services, say) is announced by
// one delta with flagFetch, and the others fetch the snapshot directly:
// one copy per node instead of one per gossip retransmission.
const maxChunks = 8

// sent is one delta as it went out.
type sent struct {
	b     []byte
	fetch bool // flagFetch: only a snapshot has it
}

// historyLen is how many of its last deltas a node keeps to answer
// for the ones another node missed.
const historyLen = 256

// summaryEvery throttles the summary (`berth status --cluster`): its pod
// counts move with every readiness change, and it is for people.
const summaryEvery = 2 * time.Second

// publisher is this node's own state, in versions: each flush turns what
// changed since the last one into deltas (pure; the Cluster sends them).
type publisher struct {
	name    string
	epoch   uint64
	version uint64
	limit   int // bytes of one delta

	table     *Table
	ready     map[string]int // what this node has ready, by Service key
	cur       counts         // ready in table order
	headless  map[string][]PodAddress
	workloads map[string]Workload
	pods      map[string]Pod
	summary   Summary
	facts     []byte

	live    bool // the node told its state once: until then it says nothing
	started bool // the first (reset) version went out
	// history is the last historyLen deltas sent, by version: a node
	// that missed some gets them, not the whole snapshot.
	history     [historyLen]sent
	dirty       map[int]bool
	hdirty      map[string]bool
	wdirty      map[string]bool
	pdirty      map[string]bool
	sumDirty    bool
	factsDirty  bool
	summaryAt   time.Time
	sentSummary Summary
}

func newPublisher(name string, epoch uint64, limit int) *publisher {
	return &publisher{name: name, epoch: epoch, limit: limit, ready: map[string]int{}, headless: map[string][]PodAddress{},
		workloads: map[string]Workload{}, pods: map[string]Pod{}, dirty: map[int]bool{}, hdirty: map[string]bool{},
		wdirty: map[string]bool{}, pdirty: map[string]bool{}}
}

func clampCount(n int) uint32 { return uint32(min(max(n, 0), maxCount)) }

// setTable moves the state to table t: a Service new to the table gets
// its count; the others keep theirs (receivers remap by key the same way).
func (p *publisher) setTable(t *Table) {
	if p.table != nil && p.table.ID == t.ID {
		return
	}
	if p.table == nil {
		p.cur = newCounts(len(t.Keys))
	} else {
		p.cur = p.cur.remap(p.table, t)
		p.dirty = map[int]bool{}
	}
	p.table = t
	// Headless lists travel by index too: send them again in the new
	// table (they are few).
	for k := range p.headless {
		p.hdirty[k] = true
	}
	for i, k := range t.Keys {
		if n := clampCount(p.ready[k]); n != p.cur.get(i) {
			p.cur.set(i, n)
			p.dirty[i] = true
		}
	}
}

// setReady takes ready counts by Service key: all of them (full: a key
// absent counts 0), or only the changed ones.
func (p *publisher) setReady(ready map[string]int, full bool) {
	p.live = true
	if full {
		for k := range p.ready {
			if _, ok := ready[k]; !ok {
				p.setOne(k, 0)
			}
		}
	}
	for k, n := range ready {
		p.setOne(k, n)
	}
}

func (p *publisher) setOne(key string, n int) {
	if n <= 0 {
		delete(p.ready, key)
	} else {
		p.ready[key] = n
	}
	if p.table == nil {
		return
	}
	if i := p.table.Index(key); i >= 0 && p.cur.get(i) != clampCount(n) {
		p.cur.set(i, clampCount(n))
		p.dirty[i] = true
	}
}

// setHeadless takes the ready pods of every headless Service (a key
// absent has none).
func (p *publisher) setHeadless(hs map[string][]PodAddress) {
	for k := range p.headless {
		if len(hs[k]) == 0 {
			delete(p.headless, k)
			p.hdirty[k] = true
		}
	}
	for k, pods := range hs {
		if len(pods) == 0 {
			continue
		}
		pods = slices.SortedFunc(slices.Values(pods), func(a, b PodAddress) int { return strings.Compare(a.Name, b.Name) })
		if !slices.Equal(p.headless[k], pods) {
			p.headless[k] = pods
			p.hdirty[k] = true
		}
	}
}

// headlessEntries are the lists of keys in table order (a key gone
// from p.headless is an empty list).
func (p *publisher) headlessEntries(keys []string) []headlessEntry {
	var out []headlessEntry
	for _, k := range keys {
		if i := p.table.Index(k); i >= 0 {
			out = append(out, headlessEntry{index: uint32(i), pods: p.headless[k]})
		}
	}
	slices.SortFunc(out, func(a, b headlessEntry) int { return cmp.Compare(a.index, b.index) })
	return out
}

func (p *publisher) setWorkloads(ws map[string]Workload) {
	for k := range p.workloads {
		if _, ok := ws[k]; !ok {
			delete(p.workloads, k)
			p.wdirty[k] = true
		}
	}
	for k, w := range ws {
		if old, ok := p.workloads[k]; !ok || old != w {
			p.workloads[k] = w
			p.wdirty[k] = true
		}
	}
}

func (p *publisher) setPods(ps map[string]Pod) {
	for k := range p.pods {
		if _, ok := ps[k]; !ok {
			delete(p.pods, k)
			p.pdirty[k] = true
		}
	}
	for k, pod := range ps {
		if old, ok := p.pods[k]; !ok || !old.equal(pod) {
			p.pods[k] = Pod{IP: pod.IP, Labels: maps.Clone(pod.Labels)}
			p.pdirty[k] = true
		}
	}
}

func (p *publisher) setSummary(s Summary) {
	if s != p.summary {
		p.summary, p.sumDirty = s, true
	}
}

// setFacts takes the node's revision facts (opaque, at most maxFacts
// bytes: more is not sent).
func (p *publisher) setFacts(b []byte) {
	if len(b) > maxFacts {
		b = nil
	}
	if !bytes.Equal(b, p.facts) {
		p.facts, p.factsDirty = bytes.Clone(b), true
	}
}

// flush returns the deltas of what changed since the last flush, each
// one version, each at most p.limit bytes.
func (p *publisher) flush(now time.Time) [][]byte {
	if p.table == nil || !p.live {
		return nil
	}
	var es []entry
	var ws []workloadEntry
	var hs []headlessEntry
	var ps []podEntry
	var flags byte
	if !p.started {
		// The first version of this incarnation starts from nothing.
		flags = flagReset
		es = p.cur.nonZero()
		for _, k := range slices.Sorted(maps.Keys(p.workloads)) {
			ws = append(ws, workloadEntry{key: k, w: p.workloads[k]})
		}
		hs = p.headlessEntries(slices.Collect(maps.Keys(p.headless)))
		for _, k := range slices.Sorted(maps.Keys(p.pods)) {
			ps = append(ps, podEntry{key: k, pod: p.pods[k]})
		}
		p.started, p.sumDirty, p.factsDirty = true, true, true
	} else {
		for _, i := range slices.Sorted(maps.Keys(p.dirty)) {
			es = append(es, entry{index: uint32(i), count: p.cur.get(i)})
		}
		for _, k := range slices.Sorted(maps.Keys(p.wdirty)) {
			w, ok := p.workloads[k]
			ws = append(ws, workloadEntry{key: k, w: w, gone: !ok})
		}
		hs = p.headlessEntries(slices.Collect(maps.Keys(p.hdirty)))
		for _, k := range slices.Sorted(maps.Keys(p.pdirty)) {
			pod, ok := p.pods[k]
			ps = append(ps, podEntry{key: k, pod: pod, gone: !ok})
		}
	}
	// What was applied, whether the node converged, the revision's
	// health and the operator's commands go out at once; moving pod
	// counts wait for summaryEvery.
	last := p.sentSummary
	major := p.summary.Applied != last.Applied || p.summary.PlanHash != last.PlanHash || p.summary.Converged != last.Converged ||
		p.summary.Health != last.Health || p.summary.Suspended != last.Suspended || p.summary.Pinned != last.Pinned
	sum := p.sumDirty && (flags&flagReset != 0 || major || now.Sub(p.summaryAt) >= summaryEvery)
	clear(p.dirty)
	clear(p.hdirty)
	clear(p.wdirty)
	clear(p.pdirty)
	facts := p.factsDirty
	if len(es) == 0 && len(ws) == 0 && len(hs) == 0 && len(ps) == 0 && !sum && !facts && flags == 0 {
		return nil
	}
	if sum {
		p.sumDirty, p.summaryAt, p.sentSummary = false, now, p.summary
	}
	p.factsDirty = false
	ds, fits := p.pack(es, ws, ps, hs, sum, facts, flags)
	// Facts, a workload's word or a headless list that do not fit one
	// packet are fetched with the snapshot.
	if len(ds) > maxChunks || !fits || facts && len(p.facts)+p.overhead() > p.limit {
		ds = []*delta{{flags: flags | flagFetch}}
	}
	out := make([][]byte, len(ds))
	for i, d := range ds {
		p.version++
		d.header = p.header()
		out[i] = encodeDelta(d)
		p.history[p.version%historyLen] = sent{b: out[i], fetch: d.flags&flagFetch != 0}
	}
	return out
}

// since returns the deltas that follow the version q has, when q asks
// for deltas and the history still holds them all (else the answer is
// the snapshot).
func (p *publisher) since(q request) ([][]byte, bool) {
	epoch, have := q.epoch, q.have
	if q.snapshot || epoch != p.epoch || have >= p.version || p.version-have > historyLen || !p.started {
		return nil, false
	}
	out := make([][]byte, 0, p.version-have)
	for v := have + 1; v <= p.version; v++ {
		h := p.history[v%historyLen]
		if h.b == nil || h.fetch {
			return nil, false
		}
		out = append(out, h.b)
	}
	return out, true
}

func (p *publisher) header() header {
	return header{owner: p.name, epoch: p.epoch, version: p.version, table: p.table.ID}
}

// pack splits the changes into deltas of at most p.limit bytes; only the
// first carries flags (reset applies once), the last the summary. fits
// is false when one workload's word or one headless list alone is over
// the limit (only a snapshot carries it).
func (p *publisher) pack(es []entry, ws []workloadEntry, ps []podEntry, hs []headlessEntry, sum, facts bool, flags byte) (ds []*delta, fits bool) {
	base := p.overhead()
	sumLen := 0
	if sum {
		sumLen = len(p.summary.Applied) + len(p.summary.PlanHash) + len(p.summary.Health) + len(p.summary.Pinned) + 24
	}
	cur := &delta{flags: flags}
	out := []*delta{cur}
	size := base
	next := func() {
		cur = &delta{}
		out = append(out, cur)
		size = base
	}
	for _, e := range es {
		gap := e.index
		if n := len(cur.entries); n > 0 {
			gap = e.index - cur.entries[n-1].index - 1
		}
		s := uvarintLen(uint64(gap)) + uvarintLen(uint64(e.count))
		if size+s > p.limit && len(cur.entries) > 0 {
			next()
			s = uvarintLen(uint64(e.index)) + uvarintLen(uint64(e.count))
		}
		cur.entries = append(cur.entries, e)
		size += s
	}
	fits = true
	for _, w := range ws {
		s := len(w.key) + len(w.w.Revision) + len(w.w.Ordinals) + 12
		if base+s > p.limit {
			fits = false // a StatefulSet's many ordinals on this node
		}
		if size+s > p.limit && (len(cur.entries) > 0 || len(cur.workloads) > 0) {
			next()
		}
		cur.workloads = append(cur.workloads, w)
		size += s
	}
	for _, pe := range ps {
		s := pe.size()
		if size+s > p.limit && (len(cur.entries) > 0 || len(cur.workloads) > 0 || len(cur.pods) > 0) {
			next()
		}
		cur.pods = append(cur.pods, pe)
		size += s
	}
	if sum {
		if size+sumLen > p.limit && (len(cur.entries) > 0 || len(cur.workloads) > 0 || len(cur.pods) > 0) {
			next()
		}
		cur.flags |= flagSummary
		cur.summary = p.summary
		size += sumLen
	}
	if facts {
		if size+len(p.facts)+4 > p.limit && (len(cur.entries) > 0 || len(cur.workloads) > 0 || len(cur.pods) > 0 || cur.flags&flagSummary != 0) {
			next()
		}
		cur.flags |= flagFacts
		cur.facts = p.facts
		size += len(p.facts) + 4
	}
	for _, h := range hs {
		s := headlessLen(h)
		if base+s > p.limit {
			fits = false
		}
		if size+s > p.limit && (len(cur.entries) > 0 || len(cur.workloads) > 0 || len(cur.pods) > 0 || cur.flags&(flagSummary|flagFacts) != 0 || len(cur.headless) > 0) {
			next()
		}
		cur.flags |= flagHeadless
		cur.headless = append(cur.headless, h)
		size += s
	}
	return out, fits
}

// overhead is the bytes of a delta without its entries: header, flags
// and counts.
func (p *publisher) overhead() int { return len(p.name) + 2*binary.MaxVarintLen64 + 8 + 16 }

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// snapshot is this node's whole state at its current version (nil
// before its first table).
func (p *publisher) snapshot() []byte {
	if p.table == nil || !p.started {
		return nil
	}
	s := &snapshot{header: p.header(), entries: p.cur.nonZero(), summary: p.summary, facts: p.facts,
		headless: p.headlessEntries(slices.Collect(maps.Keys(p.headless)))}
	for _, k := range slices.Sorted(maps.Keys(p.workloads)) {
		s.workloads = append(s.workloads, workloadEntry{key: k, w: p.workloads[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(p.pods)) {
		s.pods = append(s.pods, podEntry{key: k, pod: p.pods[k]})
	}
	return encodeSnapshot(s)
}
