package reconciler

import (
	"sort"
	"strconv"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// labelPodIndex is the ordinal label the compiler gives a StatefulSet's
// pods (expand.LabelPodIndex).
const labelPodIndex = "apps.kubernetes.io/pod-index"

// ordinalOf is a StatefulSet pod's ordinal, from its label (-1 if none).
func ordinalOf(labels map[string]string) int {
	i, err := strconv.Atoi(labels[labelPodIndex])
	if err != nil {
		return -1
	}
	return i
}

// statefulSet drives this node's ordinals of a StatefulSet the way the
// StatefulSet controller does (stateful_set_control.go): a dead pod is
// re-created; with OrderedReady, a missing ordinal is created only once
// every lower ordinal runs and is ready, one per pass, and nothing else
// happens while an ordinal is not ready; pods beyond the replicas go
// highest ordinal first, one at a time (all at once with Parallel).
// RollingUpdate replaces old-revision ordinals from the highest down to
// the partition, while fewer than maxUnavailable ordinals are
// unavailable (minReadySeconds); OnDelete leaves them until someone
// deletes them. A pod's name is its ordinal, and the executor creates
// a pod only once its name is free, so an ordinal never runs twice on
// a node; the ordinals on other nodes count as the other nodes tell
// them (setorder.go), and one another node still runs is not created.
func (v *view) statefulSet(w *plan.Workload, desired []*plan.Pod, progress State) {
	key := w.Key()
	min := time.Duration(w.Strategy.MinReadySeconds) * time.Second
	ordered := w.Strategy.PodManagementPolicy != "Parallel"
	want := map[string]*plan.Pod{}
	for _, p := range desired {
		want[p.Key()] = p
	}
	sorted := append([]*plan.Pod(nil), desired...)
	sort.Slice(sorted, func(i, j int) bool { return ordinalOf(sorted[i].Labels) < ordinalOf(sorted[j].Labels) })
	obs := map[string]*nodes.PodStatus{}
	var condemned []*nodes.PodStatus
	for _, o := range v.byOwner[key] {
		if want[o.Key()] == nil {
			condemned = append(condemned, o)
			continue
		}
		obs[o.Key()] = o
	}
	sort.Slice(condemned, func(i, j int) bool { return ordinalOf(condemned[i].Labels) > ordinalOf(condemned[j].Labels) })

	// Every pod of the set here, in ordinal order, is either available
	// or holds back an ordered set.
	healthy := true
	unavailable := 0
	for _, p := range sorted {
		o := obs[p.Key()]
		if o == nil || !available(o, min, v.now) {
			unavailable++
		}
		if o != nil && !ready(o) {
			healthy = false
		}
	}
	for _, o := range condemned {
		if !ready(o) {
			healthy = false
		}
	}
	// The ordinals on the other nodes, as they tell them (setorder.go).
	x := v.setOrder(w, sorted, condemned, progress)

	// Creations, in ordinal order.
	blocked := false
	for _, p := range sorted {
		o := obs[p.Key()]
		switch {
		case o != nil && current(o, p) && dead(o, p):
			v.remove(o, key, "ordinal "+o.Phase+": re-create")
			if !blocked {
				v.create(p, key, "ordinal died: re-create")
			}
			blocked = blocked || ordered
			continue
		case o != nil:
			v.handled[o.Key()] = true
			if current(o, p) {
				v.keep(o, p, key)
			}
			if ordered && !ready(o) {
				blocked = true // a later ordinal waits for this one
			}
			continue
		}
		if blocked {
			continue
		}
		if x.elsewhere(ordinalOf(p.Labels)) {
			blocked = ordered // a later ordinal waits for this one
			continue
		}
		if ordered && !x.lowerReady(ordinalOf(p.Labels)) {
			blocked = true
			continue
		}
		pod := p
		if w.Strategy.Type == "RollingUpdate" && belowPartition(w, p) {
			// Below the partition an ordinal comes back at the revision
			// it had, when this node still knows it.
			if old := v.knownOrdinal(key, p.Key(), progress); old != nil {
				pod = old
			}
		}
		v.create(pod, key, "ordinal missing")
		blocked = ordered
	}

	// Scale down: highest ordinal first; ordered sets one at a time and
	// only while every ordinal, here and on the other nodes, is ready.
	// (The other nodes are asked only when something would happen: a
	// node without word costs turns of waiting.)
	// An ordinal the plan now places on another node (a drain, a full
	// node) goes at once, ready or not, as an eviction does: that node
	// creates it once this pod is gone, in order. Held by the set's
	// health it could wait for ever on the node that waits for it.
	n := 0
	for _, o := range condemned {
		if x.moving(ordinalOf(o.Labels)) {
			v.remove(o, key, "ordinal placed on another node: move")
			continue
		}
		if ordered && (n > 0 || !healthy || !x.higherGone(ordinalOf(o.Labels)) || !x.healthy() || !x.downTurn(ordinalOf(o.Labels))) {
			v.handled[o.Key()] = true
			n++
			continue
		}
		n++
		v.remove(o, key, "ordinal beyond replicas: scale down")
	}

	// Rolling update, highest ordinal first, down to the partition.
	if w.Strategy.Type == "RollingUpdate" && (!ordered || healthy) && !blocked {
		budget, counted := int(max(w.Strategy.MaxUnavailable, 1))-unavailable, false
		for i := len(sorted) - 1; i >= 0 && budget > 0; i-- {
			p := sorted[i]
			o := obs[p.Key()]
			if o == nil || current(o, p) || belowPartition(w, p) {
				continue
			}
			if !counted {
				// maxUnavailable counts the whole set.
				budget, counted = budget-x.unavailable(), true
				if budget <= 0 {
					break
				}
			}
			if ordered && !x.healthy() || !x.higherUpdated(ordinalOf(p.Labels), ordered) {
				break
			}
			v.remove(o, key, "ordinal of an old revision: update")
			v.create(p, key, "ordinal of an old revision: update")
			budget--
		}
	}
	v.statefulSetRecord(w, sorted, obs, min, progress, x)
}

// knownOrdinal is the pod an ordinal ran before the current revision,
// from the revisions this node remembers (Desired.Known), or nil.
func (v *view) knownOrdinal(workload, podKey string, progress State) *plan.Pod {
	r, ok := progress.Rollouts[workload]
	if !ok || r.Stable == "" {
		return nil
	}
	for i, p := range v.d.Known[workload+"@"+r.Stable] {
		if p.Key() == podKey {
			return &v.d.Known[workload+"@"+r.Stable][i]
		}
	}
	return nil
}

// statefulSetRecord keeps the set's rollout record: the revision, the
// one before it, how many ordinals run it and are available, Complete
// once all do.
func (v *view) statefulSetRecord(w *plan.Workload, sorted []*plan.Pod, obs map[string]*nodes.PodStatus, min time.Duration, progress State, x *setOrder) {
	key := w.Key()
	before, had := progress.Rollouts[key]
	r := before
	if !had || r.Revision != w.Revision {
		stable := ""
		if had {
			stable = before.Revision
		}
		r = Rollout{Revision: w.Revision, Stable: stable, Phase: PhaseProgressing, Started: v.now, LastProgress: v.now, Available: -1}
	}
	n := 0
	for _, p := range sorted {
		if o := obs[p.Key()]; o != nil && current(o, p) && available(o, min, v.now) {
			n++
		}
	}
	if n != r.Available {
		r.Available, r.LastProgress = n, v.now
	}
	r.Phase = PhaseProgressing
	if n == len(sorted) {
		r.Phase = PhaseComplete
	}
	x.record(&r, before)
	if !had || !sameJSON(before, r) {
		v.record(bucketRollouts, key, r, "statefulset "+r.Phase)
	}
}

// belowPartition says whether the partition keeps p at its revision: it
// counts from the first ordinal (the controller indexes its replicas
// from spec.ordinals.start).
func belowPartition(w *plan.Workload, p *plan.Pod) bool {
	return ordinalOf(p.Labels)-int(w.Strategy.OrdinalsStart) < int(w.Strategy.Partition)
}
