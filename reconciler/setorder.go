package reconciler

// A StatefulSet's order across nodes. When the schedule spreads a set's
// ordinals over several nodes (a required podAntiAffinity on
// kubernetes.io/hostname, a full node, a nodeSelector), each node tells
// the others which ordinals of the set it runs a pod of, and whether
// each is ready, available and at the set's revision (PeerOrdinal, with
// the node's rollout word, by gossip). A node then holds its own
// ordinals to the order the StatefulSet controller keeps over the whole
// set: OrderedReady creates ordinal i once every lower ordinal, on any
// node, runs and is ready, and scales down and updates only while every
// ordinal is ready; a scale down waits for the higher ordinals beyond
// the replicas on the other nodes to be gone; a rolling update replaces
// ordinal i once every higher ordinal down to the partition runs the new
// revision, and counts maxUnavailable over the whole set. An ordinal
// another node still runs is not created here (it moved), whatever the
// policy.
//
// A node with no word for the set (not heard yet, gossip off, failed)
// is waited for by time, as DaemonSet turns are: every ordinal there in
// the way is a turn of minReadySeconds + DaemonSetStep, counted from
// when this node started waiting (Rollout.Waiting).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// PeerOrdinal is one ordinal of a StatefulSet a node runs a pod of, as
// it tells the other nodes (PeerWorkload.Ordinals).
type PeerOrdinal struct {
	Ordinal int `json:"ordinal"`
	// Ready: the pod runs and is ready (a terminating pod is not).
	Ready bool `json:"ready,omitempty"`
	// Available: ready for the set's minReadySeconds.
	Available bool `json:"available,omitempty"`
	// Current: the pod runs the revision of the node's word
	// (PeerWorkload.Revision).
	Current bool `json:"current,omitempty"`
}

// maxPeerOrdinals bounds the ordinals one node tells of one set (a node
// runs at most a few hundred pods).
const maxPeerOrdinals = 1 << 16

// EncodeOrdinals is the wire form of a node's ordinals of one set: per
// ordinal, ascending, a uvarint and a byte of flags.
func EncodeOrdinals(os []PeerOrdinal) string {
	if len(os) == 0 {
		return ""
	}
	b := make([]byte, 0, 3*len(os))
	for _, o := range os {
		b = binary.AppendUvarint(b, uint64(o.Ordinal))
		var bits byte
		if o.Ready {
			bits |= 1
		}
		if o.Available {
			bits |= 2
		}
		if o.Current {
			bits |= 4
		}
		b = append(b, bits)
	}
	return string(b)
}

// DecodeOrdinals reads what EncodeOrdinals wrote (another node's word:
// hostile input, bounded).
func DecodeOrdinals(s string) ([]PeerOrdinal, error) {
	var out []PeerOrdinal
	b := []byte(s)
	for len(b) > 0 {
		if len(out) == maxPeerOrdinals {
			return nil, fmt.Errorf("more than %d ordinals", maxPeerOrdinals)
		}
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<31-1 || len(b) < n+1 || b[n] > 7 {
			return nil, errors.New("malformed ordinals")
		}
		bits := b[n]
		out = append(out, PeerOrdinal{Ordinal: int(v), Ready: bits&1 != 0, Available: bits&2 != 0, Current: bits&4 != 0})
		b = b[n+1:]
	}
	return out, nil
}

// localOrdinals are this node's pods of StatefulSet w as it tells the
// others, in ordinal order.
func localOrdinals(w *plan.Workload, pods []*nodes.PodStatus, revision string, now time.Time) []PeerOrdinal {
	min := time.Duration(w.Strategy.MinReadySeconds) * time.Second
	var out []PeerOrdinal
	for _, o := range pods {
		i := ordinalOf(o.Labels)
		if i < 0 {
			continue
		}
		out = append(out, PeerOrdinal{Ordinal: i, Ready: ready(o), Available: available(o, min, now), Current: o.Revision == revision})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ordinal < out[j].Ordinal })
	return out
}

// SetPlacement is the node of each ordinal of each StatefulSet of p,
// by set key.
func SetPlacement(p *plan.Plan) map[string]map[int]string {
	out := map[string]map[int]string{}
	for _, n := range p.Nodes {
		for i := range n.Pods {
			pod := &n.Pods[i]
			if pod.Owner.Kind != "StatefulSet" {
				continue
			}
			k := ownerKey(pod.Owner.Kind, pod.Namespace, pod.Owner.Name)
			if out[k] == nil {
				out[k] = map[int]string{}
			}
			out[k][ordinalOf(pod.Labels)] = n.Node.Name
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// setOrder is one pass's view of a StatefulSet's ordinals on the other
// nodes, and what this node waits for.
type setOrder struct {
	w      *plan.Workload
	first  int // ordinals.start
	end    int // first + replicas
	placed map[int]string
	// told are the ordinals the other nodes run a pod of; by is who
	// told each; unheard the nodes with no word for the set. They are
	// read at the first decision that needs them (load): a converged
	// set needs none.
	d       *Desired
	loaded  bool
	told    map[int]PeerOrdinal
	by      map[int]string
	unheard map[string]bool
	// local are the set's ordinals the plan places here; leaving are
	// the ones this node runs and the plan places on another node;
	// condemned counts this node's pods of the set the plan does not
	// place here.
	local, leaving map[int]bool
	condemned      int
	// spread: the plan places ordinals of the set on other nodes; top
	// is where the set's ordinals ended when it last did, kept while a
	// scale down runs here (Rollout.Spread).
	spread bool
	top    int

	// since is when this node started waiting on nodes without word
	// (zero: not yet); now the pass's time.
	since, now time.Time
	step       time.Duration
	// timed: some decision waited on a node without word (since is
	// kept); waits say what the set waits for (the record's message).
	timed bool
	waits []string
}

// setOrder reads the other nodes' word for StatefulSet w, or nil when
// the plan has one node.
func (v *view) setOrder(w *plan.Workload, sorted []*plan.Pod, condemned []*nodes.PodStatus, progress State) *setOrder {
	if len(v.d.Nodes) < 2 {
		return nil
	}
	key := w.Key()
	first := int(w.Strategy.OrdinalsStart)
	s := &setOrder{w: w, first: first, end: first + int(w.Replicas), placed: v.d.Ordinals[key], d: &v.d,
		local: map[int]bool{}, leaving: map[int]bool{},
		since: progress.Rollouts[key].Waiting, now: v.now,
		step: time.Duration(w.Strategy.MinReadySeconds)*time.Second + DaemonSetStep}
	for _, p := range sorted {
		s.local[ordinalOf(p.Labels)] = true
	}
	for _, o := range condemned {
		if i := ordinalOf(o.Labels); i >= s.first && i < s.end {
			s.leaving[i] = true
		}
	}
	s.condemned = len(condemned)
	for _, n := range s.placed {
		if n != v.d.Node {
			s.spread = true
			break
		}
	}
	s.top = progress.Rollouts[key].Spread
	return s
}

// moving says whether ordinal i runs here and the plan places it on
// another node.
func (s *setOrder) moving(i int) bool { return s != nil && s.leaving[i] }

// load reads the other nodes' word for the set, once.
func (s *setOrder) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	key, w := s.w.Key(), s.w
	s.told, s.by, s.unheard = map[int]PeerOrdinal{}, map[int]string{}, map[string]bool{}
	for _, n := range s.d.Nodes {
		if n.Name == s.d.Node {
			continue
		}
		p, ok := s.d.Peers[n.Name]
		pw, told := p.Workloads[key]
		if !ok || !p.Reachable || !told {
			s.unheard[n.Name] = true
			continue
		}
		for _, o := range pw.Ordinals {
			if _, dup := s.told[o.Ordinal]; dup {
				continue // two nodes run it (a move): the first one's word
			}
			o.Current = o.Current && pw.Revision == w.Revision
			s.told[o.Ordinal], s.by[o.Ordinal] = o, n.Name
		}
	}
}

// name is ordinal i's pod name.
func (s *setOrder) name(i int) string { return fmt.Sprintf("%s-%d", s.w.Name, i) }

// remote says whether ordinal i is one the plan runs on another node.
func (s *setOrder) remote(i int) bool {
	return i >= s.first && i < s.end && !s.local[i] && !s.leaving[i]
}

// silent says whether the plan places ordinal i on a node without word.
func (s *setOrder) silent(i int) (string, bool) {
	n := s.placed[i]
	return n, n != "" && s.unheard[n]
}

// wait notes what the set waits for.
func (s *setOrder) wait(msg string) {
	if !slices.Contains(s.waits, msg) {
		s.waits = append(s.waits, msg)
	}
}

// elsewhere says whether another node still runs a pod of ordinal i: it
// is not created here before that pod is gone.
func (s *setOrder) elsewhere(i int) bool {
	if s == nil {
		return false
	}
	s.load()
	n, ok := s.by[i]
	if ok {
		s.wait(fmt.Sprintf("%s waits for its pod on %s to be gone", s.name(i), n))
	}
	return ok
}

// lowerReady says whether every ordinal below i on the other nodes runs
// and is ready (OrderedReady creates ordinal i only then).
func (s *setOrder) lowerReady(i int) bool {
	if s == nil {
		return true
	}
	s.load()
	var silent []string
	turns := 0
	for j := s.first; j < i; j++ {
		if !s.remote(j) {
			continue
		}
		if o, ok := s.told[j]; ok && o.Ready {
			continue
		}
		if n, ok := s.silent(j); ok {
			turns++
			silent = appendNew(silent, n)
			continue
		}
		s.wait(fmt.Sprintf("%s waits for %s on %s to run and be ready", s.name(i), s.name(j), s.where(j)))
		return false
	}
	return s.turn(turns, silent, s.name(i)+" is created")
}

// healthy says whether every ordinal on the other nodes runs and is
// ready (an OrderedReady set scales down and updates only then).
func (s *setOrder) healthy() bool {
	if s == nil {
		return true
	}
	s.load()
	var silent []string
	for j := s.first; j < s.end; j++ {
		if !s.remote(j) {
			continue
		}
		if o, ok := s.told[j]; ok && o.Ready {
			continue
		}
		if n, ok := s.silent(j); ok {
			silent = appendNew(silent, n)
			continue
		}
		s.wait(fmt.Sprintf("waits for %s on %s to run and be ready", s.name(j), s.where(j)))
		return false
	}
	for _, j := range s.toldOrdinals() {
		if o := s.told[j]; (j < s.first || j >= s.end) && !o.Ready {
			s.wait(fmt.Sprintf("waits for %s on %s to be ready or gone", s.name(j), s.by[j]))
			return false
		}
	}
	if len(silent) == 0 {
		return true
	}
	return s.turn(1, silent, "the set scales down or updates")
}

// higherGone says whether the other nodes run no ordinal beyond the
// replicas above i (a scale down goes from the highest ordinal).
func (s *setOrder) higherGone(i int) bool {
	if s == nil {
		return true
	}
	s.load()
	for _, j := range s.toldOrdinals() {
		if j > i && (j < s.first || j >= s.end) {
			s.wait(fmt.Sprintf("%s waits for %s on %s to be gone", s.name(i), s.name(j), s.by[j]))
			return false
		}
	}
	return true
}

// downTurn says whether a scale down of ordinal c here may go as far as
// the nodes without word go: the ordinals above it, up to where the set
// ended when it last had ordinals on other nodes, are a turn each (they
// go first), and this one one more.
func (s *setOrder) downTurn(c int) bool {
	if s == nil || s.top <= c {
		return true
	}
	s.load()
	if len(s.unheard) == 0 {
		return true
	}
	silent := make([]string, 0, len(s.unheard))
	for n := range s.unheard {
		silent = append(silent, n)
	}
	sort.Strings(silent)
	return s.turn(s.top-c, silent, s.name(c)+" is removed")
}

// record keeps in r what the next passes need: where the set ended
// when spread (while a scale down runs here), since when it waits on
// nodes without word, and what it waits for.
func (s *setOrder) record(r *Rollout, before Rollout) {
	r.Message, r.Waiting, r.Spread = "", time.Time{}, 0
	if s == nil {
		return
	}
	r.Message = strings.Join(s.waits, "; ")
	if s.timed {
		r.Waiting = s.since
	}
	if s.spread {
		r.Spread = s.end
	}
	if s.condemned > 0 {
		r.Spread = max(r.Spread, before.Spread)
	}
}

// higherUpdated says whether every ordinal above i, down to the
// partition, on the other nodes runs the set's revision (a rolling
// update goes from the highest ordinal). Without word, each of them is
// a turn, and an ordered set's first turn (healthy) one more.
func (s *setOrder) higherUpdated(i int, ordered bool) bool {
	if s == nil {
		return true
	}
	s.load()
	var silent []string
	turns := 0
	for j := s.end - 1; j > i; j-- {
		if !s.remote(j) || j-s.first < int(s.w.Strategy.Partition) {
			continue
		}
		if o, ok := s.told[j]; ok && o.Current {
			continue
		}
		if n, ok := s.silent(j); ok {
			turns++
			silent = appendNew(silent, n)
			continue
		}
		s.wait(fmt.Sprintf("%s waits for %s on %s to run revision %s", s.name(i), s.name(j), s.where(j), s.w.Revision))
		return false
	}
	if turns > 0 && ordered {
		turns++
	}
	return s.turn(turns, silent, s.name(i)+" is updated")
}

// unavailable counts the ordinals the plan runs on the other nodes that
// are not available there (missing ones too); a node without word
// counts as available once its turns are over.
func (s *setOrder) unavailable() int {
	if s == nil {
		return 0
	}
	s.load()
	n := 0
	for j := s.first; j < s.end; j++ {
		if !s.remote(j) {
			continue
		}
		if _, ok := s.silent(j); ok {
			continue
		}
		if o, ok := s.told[j]; !ok || !o.Available {
			n++
		}
	}
	return n
}

// turn says whether turns of s.step have passed since this node started
// waiting on the nodes without word (silent); it starts waiting now.
func (s *setOrder) turn(turns int, silent []string, what string) bool {
	if turns == 0 {
		return true
	}
	s.timed = true
	if s.since.IsZero() {
		s.since = s.now
	}
	due := s.since.Add(time.Duration(turns) * s.step)
	if s.now.Before(due) {
		s.wait(fmt.Sprintf("%s at %s (no word from %s)", what, due.UTC().Format(time.RFC3339), strings.Join(silent, ", ")))
		return false
	}
	return true
}

// where is the node the plan places ordinal j on.
func (s *setOrder) where(j int) string {
	if n := s.placed[j]; n != "" {
		return n
	}
	return "another node"
}

func (s *setOrder) toldOrdinals() []int {
	out := make([]int, 0, len(s.told))
	for j := range s.told {
		out = append(out, j)
	}
	sort.Ints(out)
	return out
}

func appendNew(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}
