package gossip

import (
	"maps"
	"slices"
	"time"
)

// maxPending bounds the deltas of one owner kept while one before them is
// missing; past it the node fetches a snapshot instead.
const maxPending = 64

// replica is what this node knows of another node's state. Deltas apply
// in version order; one that arrives early waits in pending, and a gap
// that lasts (a delta lost, a change announced with flagFetch, a new
// incarnation joined late) is closed by fetching the owner's snapshot.
type replica struct {
	epoch, version uint64
	table          uint64 // the table of counts
	counts         counts
	// headless are the owner's ready pods of headless Services, by
	// Service key (keys outlive a table change; those gone are dropped).
	headless  map[string][]PodAddress
	workloads map[string]Workload
	pods      map[string]Pod
	summary   Summary
	facts     []byte
	complete  bool // it has a base: a reset delta or a snapshot
	// readyMap is counts by Service key, made by the first ready() after
	// the counts changed and kept until they change again: a daemon asks
	// for every owner's counts on every reconcile, and only a few
	// owners move between two.
	readyMap map[string]int

	pending map[uint64]*delta
	snap    *snapshot // a snapshot waiting for its table
	// want is a version this node knows exists (a pending delta, a
	// digest), since when it has been behind it, and when it last asked
	// the owner for a snapshot.
	want     uint64
	behind   time.Time
	fetchNow bool // behind in a way only a snapshot repairs: ask for it
	askedAt  time.Time
}

// replicas are this node's view of every other node's state (pure: the
// Cluster feeds it messages and sends what it asks for).
type replicas struct {
	self    string
	allowed func(owner string) bool
	tables  map[uint64]*Table
	current *Table
	owners  map[string]*replica
	// gapWait is how long a node waits for a missing delta before it
	// fetches a snapshot; retry how long before it asks again.
	gapWait, retry time.Duration
	// onApply, when set, sees every version an owner's state reaches
	// (measurements).
	onApply func(owner string, version uint64)
	// recent are the owners whose state moved lately, and when (heads).
	recent map[string]time.Time
	clock  func() time.Time
}

func newReplicas(self string, allowed func(string) bool, gapWait, retry time.Duration) *replicas {
	return &replicas{self: self, allowed: allowed, tables: map[uint64]*Table{}, owners: map[string]*replica{}, gapWait: gapWait, retry: retry,
		recent: map[string]time.Time{}, clock: time.Now}
}

// setTable makes t this node's table (its plan changed); deltas and
// snapshots that waited for it apply now. It reports whether any state
// changed.
func (rs *replicas) setTable(t *Table) bool {
	rs.tables[t.ID] = t
	rs.current = t
	// Keep the tables some replica still counts in; forget the others.
	used := map[uint64]bool{t.ID: true}
	for _, r := range rs.owners {
		used[r.table] = true
		if r.snap != nil {
			used[r.snap.table] = true
		}
		for _, d := range r.pending {
			used[d.table] = true
		}
	}
	for id := range rs.tables {
		if !used[id] {
			delete(rs.tables, id)
		}
	}
	changed := false
	for _, r := range rs.owners {
		if r.snap != nil && rs.tables[r.snap.table] != nil {
			s := r.snap
			r.snap = nil
			changed = rs.takeSnapshot(r, s) || changed
		}
		changed = rs.drain(r) || changed
	}
	return changed
}

func (rs *replicas) get(owner string) *replica {
	r := rs.owners[owner]
	if r == nil {
		r = &replica{workloads: map[string]Workload{}, pods: map[string]Pod{}}
		rs.owners[owner] = r
	}
	return r
}

// drop forgets an owner (it left the inventory).
func (rs *replicas) drop(owner string) {
	delete(rs.owners, owner)
	delete(rs.recent, owner)
}

// delta takes one delta. fresh: first seen here (gossip it on); changed:
// the owner's state moved.
func (rs *replicas) delta(d *delta, now time.Time) (fresh, changed bool) {
	if d.owner == rs.self || !rs.allowed(d.owner) || d.version == 0 {
		return false, false
	}
	r := rs.get(d.owner)
	switch {
	case d.epoch < r.epoch:
		return false, false
	case d.epoch > r.epoch:
		// A new incarnation (its daemon restarted): it starts over.
		*r = replica{epoch: d.epoch, workloads: map[string]Workload{}, pods: map[string]Pod{}}
	case d.version <= r.version || r.pending[d.version] != nil:
		return false, false
	}
	if r.pending == nil {
		r.pending = map[uint64]*delta{}
	}
	if len(r.pending) >= maxPending {
		clear(r.pending)
		r.fetchNow = true
	}
	r.pending[d.version] = d
	rs.markBehind(r, d.version, now)
	if !r.complete && d.flags&flagReset == 0 {
		// No base to apply it on: only a snapshot (or a reset) helps.
		r.fetchNow = true
	}
	return true, rs.drain(r)
}

// markBehind notes that version v of r's owner exists.
func (rs *replicas) markBehind(r *replica, v uint64, now time.Time) {
	if v > r.want {
		r.want = v
	}
	if r.behind.IsZero() {
		r.behind = now
	}
}

// drain applies the pending deltas that follow r's version, after the
// latest reset among them (a reset needs no base: it jumps there).
func (rs *replicas) drain(r *replica) bool {
	changed := false
	var jump *delta
	for v, d := range r.pending {
		if d.flags&flagReset != 0 && d.flags&flagFetch == 0 && v > r.version && rs.tables[d.table] != nil &&
			(jump == nil || v > jump.version) {
			jump = d
		}
	}
	if jump != nil {
		for v := range r.pending {
			if v <= jump.version {
				delete(r.pending, v)
			}
		}
		rs.reset(r, jump)
		changed = true
	}
	for r.complete {
		d := r.pending[r.version+1]
		if d == nil {
			break
		}
		if d.flags&flagFetch != 0 {
			r.fetchNow = true
			break
		}
		if !rs.apply(r, d) {
			// Its table is not known here: it comes with this node's
			// next plan, unless a later delta is in a table this node
			// has. Then the owner moved on from a plan this node
			// skipped (two commits within one poll) or forgot (a
			// commit reverted), and will not come: the owner's
			// history would send the same deltas again; only its
			// snapshot repairs that.
			if rs.tables[d.table] == nil && rs.knownAfter(r, d.version) {
				r.fetchNow = true
			}
			break
		}
		delete(r.pending, d.version)
		changed = true
	}
	if r.version >= r.want {
		r.behind, r.fetchNow = time.Time{}, false
	}
	return changed
}

// knownAfter reports whether a pending delta of r after version v is in
// a table this node has.
func (rs *replicas) knownAfter(r *replica, v uint64) bool {
	for u, d := range r.pending {
		if u > v && rs.tables[d.table] != nil {
			return true
		}
	}
	return false
}

func (rs *replicas) reset(r *replica, d *delta) {
	t := rs.tables[d.table]
	r.counts, r.table, r.readyMap = newCounts(len(t.Keys)), t.ID, nil
	r.workloads, r.pods, r.summary, r.facts, r.headless = map[string]Workload{}, map[string]Pod{}, Summary{}, nil, nil
	r.complete = true
	rs.apply(r, d)
}

// apply applies d on top of r (r.version+1 == d.version, or a reset). It
// returns false when d's table is not known here yet.
func (rs *replicas) apply(r *replica, d *delta) bool {
	if d.table != r.table {
		to, from := rs.tables[d.table], rs.tables[r.table]
		if to == nil {
			return false
		}
		if from == nil {
			// Its old table was forgotten: only a snapshot helps now.
			r.fetchNow = true
			return false
		}
		r.counts, r.table = r.counts.remap(from, to), to.ID
		for k := range r.headless {
			if to.Index(k) < 0 {
				delete(r.headless, k)
			}
		}
	}
	r.readyMap = nil
	n := len(r.counts.v)
	for _, e := range d.entries {
		if int(e.index) < n {
			r.counts.set(int(e.index), e.count)
		}
	}
	r.setHeadless(rs.tables[r.table], d.headless)
	for _, w := range d.workloads {
		if w.gone {
			delete(r.workloads, w.key)
		} else if len(r.workloads) < maxWorkloads {
			r.workloads[w.key] = w.w
		}
	}
	for _, p := range d.pods {
		if p.gone {
			delete(r.pods, p.key)
		} else if _, ok := r.pods[p.key]; ok || len(r.pods) < maxPods {
			r.pods[p.key] = p.pod
		}
	}
	if d.flags&flagSummary != 0 {
		r.summary = d.summary
	}
	if d.flags&flagFacts != 0 {
		r.facts = d.facts
	}
	r.version = d.version
	rs.moved(d.owner)
	if rs.onApply != nil {
		rs.onApply(d.owner, d.version)
	}
	return true
}

// setHeadless replaces the lists of hs (indexes in t) in r.
func (r *replica) setHeadless(t *Table, hs []headlessEntry) {
	if t == nil {
		return
	}
	for _, h := range hs {
		if int(h.index) >= len(t.Keys) {
			continue
		}
		k := t.Keys[h.index]
		if len(h.pods) == 0 {
			delete(r.headless, k)
			continue
		}
		if r.headless == nil {
			r.headless = map[string][]PodAddress{}
		}
		r.headless[k] = h.pods
	}
}

// moved notes that owner's state reached a new version (heads).
func (rs *replicas) moved(owner string) { rs.recent[owner] = rs.clock() }

// snapshot takes an owner's whole state; it reports whether it changed
// what this node knows.
func (rs *replicas) snapshot(s *snapshot, now time.Time) bool {
	if s.owner == rs.self || !rs.allowed(s.owner) || s.version == 0 {
		return false
	}
	r := rs.get(s.owner)
	switch {
	case s.epoch < r.epoch:
		return false
	case s.epoch == r.epoch && r.complete && s.version <= r.version:
		return false
	case s.epoch > r.epoch:
		*r = replica{epoch: s.epoch, workloads: map[string]Workload{}, pods: map[string]Pod{}}
	}
	if rs.tables[s.table] == nil {
		// Its table comes with this node's next plan.
		if r.snap == nil || r.snap.version < s.version {
			r.snap = s
		}
		rs.markBehind(r, s.version, now)
		return false
	}
	return rs.takeSnapshot(r, s)
}

func (rs *replicas) takeSnapshot(r *replica, s *snapshot) bool {
	t := rs.tables[s.table]
	r.counts, r.table, r.readyMap = newCounts(len(t.Keys)), t.ID, nil
	for _, e := range s.entries {
		if int(e.index) < len(t.Keys) {
			r.counts.set(int(e.index), e.count)
		}
	}
	r.workloads = map[string]Workload{}
	for _, w := range s.workloads {
		if !w.gone {
			r.workloads[w.key] = w.w
		}
	}
	r.pods = map[string]Pod{}
	for _, p := range s.pods {
		if !p.gone && len(r.pods) < maxPods {
			r.pods[p.key] = p.pod
		}
	}
	r.headless = nil
	r.setHeadless(t, s.headless)
	r.summary, r.facts, r.version, r.complete = s.summary, s.facts, s.version, true
	rs.moved(s.owner)
	for v := range r.pending {
		if v <= s.version {
			delete(r.pending, v)
		}
	}
	if rs.onApply != nil {
		rs.onApply(s.owner, s.version)
	}
	rs.drain(r)
	return true
}

// digest is how far this node knows every owner (push/pull).
func (rs *replicas) digest() []digestEntry {
	out := make([]digestEntry, 0, len(rs.owners))
	for name, r := range rs.owners {
		if r.complete {
			out = append(out, digestEntry{owner: name, epoch: r.epoch, version: r.version})
		}
	}
	return out
}

// learn takes another node's digest: the versions it knows that this
// node lacks are fetched if gossip does not bring them within gapWait.
func (rs *replicas) learn(digest []digestEntry, now time.Time) {
	for _, d := range digest {
		if d.owner == rs.self || !rs.allowed(d.owner) || d.version == 0 {
			continue
		}
		r := rs.get(d.owner)
		switch {
		case d.epoch < r.epoch:
		case d.epoch > r.epoch:
			*r = replica{epoch: d.epoch, workloads: map[string]Workload{}, pods: map[string]Pod{}, want: d.version, behind: now, fetchNow: true}
		case !r.complete || d.version > r.version:
			rs.markBehind(r, d.version, now)
			if !r.complete {
				r.fetchNow = true
			}
		}
	}
}

// heads are the versions of the owners that moved in the last window,
// the latest first, at most limit.
func (rs *replicas) heads(now time.Time, window time.Duration, limit int) []digestEntry {
	type moved struct {
		owner string
		at    time.Time
	}
	var ms []moved
	for o, at := range rs.recent {
		if now.Sub(at) > window {
			delete(rs.recent, o)
			continue
		}
		if r := rs.owners[o]; r != nil && r.complete {
			ms = append(ms, moved{o, at})
		}
	}
	slices.SortFunc(ms, func(a, b moved) int { return b.at.Compare(a.at) })
	out := make([]digestEntry, 0, min(len(ms), limit))
	for _, m := range ms[:min(len(ms), limit)] {
		r := rs.owners[m.owner]
		out = append(out, digestEntry{owner: m.owner, epoch: r.epoch, version: r.version})
	}
	return out
}

// due lists what to ask the owners for now (what follows the version
// this node has), and notes the ask.
func (rs *replicas) due(now time.Time) []request {
	var out []request
	for name, r := range rs.owners {
		if r.behind.IsZero() {
			continue
		}
		if r.complete && r.version >= r.want {
			// Caught up by a way that does not drain (an answer of deltas
			// it had meanwhile): nothing to ask, or it would ask again
			// every retry, and be sent the deltas again each time.
			r.behind, r.fetchNow = time.Time{}, false
			continue
		}
		if urgent := r.fetchNow || !r.complete; !urgent && now.Sub(r.behind) < rs.gapWait {
			continue
		}
		if !r.askedAt.IsZero() && now.Sub(r.askedAt) < rs.retry {
			continue
		}
		r.askedAt = now
		q := request{from: rs.self, owner: name, epoch: r.epoch}
		switch {
		case r.fetchNow:
			// Deltas would not do: the owner's history would send
			// those this node has, or cannot apply.
			q = request{from: rs.self, owner: name, snapshot: true}
		case r.complete:
			q.have = r.version
		}
		out = append(out, q)
	}
	return out
}

// ready is owner's ready counts by Service key (nil: nothing complete,
// or its table is not known here). The map is shared until the counts
// change: callers must not modify it.
func (rs *replicas) ready(owner string) (map[string]int, bool) {
	r := rs.owners[owner]
	if r == nil || !r.complete {
		return nil, false
	}
	t := rs.tables[r.table]
	if t == nil {
		return nil, false
	}
	if r.readyMap != nil {
		return r.readyMap, true
	}
	out := map[string]int{}
	for i, v := range r.counts.v {
		if v != 0 {
			out[t.Keys[i]] = int(r.counts.get(i))
		}
	}
	r.readyMap = out
	return out, true
}

// headless is owner's ready pods of headless Services by Service key
// (nil: none, or nothing complete).
func (rs *replicas) headless(owner string) map[string][]PodAddress {
	r := rs.owners[owner]
	if r == nil || !r.complete || len(r.headless) == 0 {
		return nil
	}
	return maps.Clone(r.headless)
}

// workloads, summary and facts of a complete replica.
func (rs *replicas) state(owner string) (map[string]Workload, Summary, []byte) {
	r := rs.owners[owner]
	if r == nil || !r.complete {
		return nil, Summary{}, nil
	}
	return maps.Clone(r.workloads), r.summary, r.facts
}

// pods of a complete replica (nil: none, or nothing complete).
func (rs *replicas) pods(owner string) map[string]Pod {
	r := rs.owners[owner]
	if r == nil || !r.complete || len(r.pods) == 0 {
		return nil
	}
	return maps.Clone(r.pods)
}
