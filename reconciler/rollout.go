package reconciler

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// group is one workload's pods in one pass.
type group struct {
	w       *plan.Workload
	key     string
	desired []*plan.Pod                 // sorted by name
	cur     map[string]*nodes.PodStatus // desired key -> observed pod with the desired hash
	old     []*nodes.PodStatus          // other pods of the workload, sorted by key
	oldKeys map[string]*nodes.PodStatus // key -> old pod
	min     time.Duration               // minReadySeconds
	now     time.Time
	removed map[string]bool // old pods removed in this pass
	dead    map[string]bool // current pods that died, removed in this pass
}

func (g *group) available(o *nodes.PodStatus) bool { return available(o, g.min, g.now) }

// newAvailable counts desired pods that run and are available.
func (g *group) newAvailable(n int) int {
	c := 0
	for _, p := range g.desired[:n] {
		if o := g.cur[p.Key()]; o != nil && g.available(o) {
			c++
		}
	}
	return c
}

// blocked says an old pod still holds the desired pod's name.
func (g *group) blocked(p *plan.Pod) bool {
	o := g.oldKeys[p.Key()]
	return o != nil && !g.removed[o.Key()]
}

func (v *view) workload(w *plan.Workload, desired []*plan.Pod, progress State) {
	g := &group{w: w, key: w.Key(), cur: map[string]*nodes.PodStatus{}, oldKeys: map[string]*nodes.PodStatus{},
		min: time.Duration(w.Strategy.MinReadySeconds) * time.Second, now: v.now, removed: map[string]bool{}, dead: map[string]bool{}}
	g.desired = append(g.desired, desired...)
	sort.Slice(g.desired, func(i, j int) bool { return g.desired[i].Name < g.desired[j].Name })
	want := map[string]*plan.Pod{}
	for _, p := range g.desired {
		want[p.Key()] = p
	}
	observed := append([]*nodes.PodStatus(nil), v.byOwner[g.key]...)
	sort.Slice(observed, func(i, j int) bool { return observed[i].Key() < observed[j].Key() })
	for _, o := range observed {
		p := want[o.Key()]
		switch {
		case p != nil && current(o, p) && dead(o, p):
			// The runtime gave up on it: remove now, create again below.
			v.remove(o, g.key, "pod "+o.Phase+": re-create")
			g.dead[o.Key()] = true
		case p != nil && current(o, p):
			g.cur[o.Key()] = o
			v.keep(o, p, g.key)
		default:
			g.old = append(g.old, o)
			g.oldKeys[o.Key()] = o
		}
	}
	switch w.Strategy.Type {
	case "Recreate", "RollingUpdate", "BlueGreen", "Canary":
	case "OnDelete":
		// Old pods stay until someone deletes them; missing names come back new.
		for _, o := range g.old {
			v.handled[o.Key()] = true
		}
		for _, p := range g.desired {
			if g.cur[p.Key()] == nil && !g.blocked(p) {
				v.create(p, g.key, "missing")
			}
		}
		return
	default:
		for _, o := range g.old {
			if want[o.Key()] == nil {
				v.remove(o, g.key, "not in the plan")
			}
		}
		for _, p := range g.desired {
			switch {
			case g.dead[p.Key()]:
				v.create(p, g.key, "pod died: re-create")
			case g.cur[p.Key()] == nil:
				v.bare(p)
			}
		}
		return
	}
	if len(g.desired) == 0 && len(g.old) == 0 && len(g.cur) == 0 {
		if _, ok := progress.Rollouts[g.key]; !ok {
			return // nothing of this workload on this node
		}
	}
	before, had := progress.Rollouts[g.key]
	r := v.startRollout(g, before, had)
	switch {
	case r.Stable == "" || r.Stable == r.Revision:
		v.replaceAll(g, &r)
	case w.Strategy.Type == "Recreate":
		v.recreate(g, &r)
	case w.Strategy.Type == "RollingUpdate":
		v.rolling(g, &r)
	case w.Strategy.Type == "BlueGreen":
		v.blueGreen(g, &r)
	case w.Strategy.Type == "Canary":
		v.canary(g, &r)
	}
	n := g.newAvailable(len(g.desired))
	if n != r.Available {
		r.Available, r.LastProgress = n, v.now
	}
	if !had || !sameJSON(before, r) {
		v.record(bucketRollouts, g.key, r, "rollout "+r.Phase)
	}
}

// startRollout continues the recorded rollout, or starts one when the
// desired revision changed.
func (v *view) startRollout(g *group, r Rollout, had bool) Rollout {
	if had && r.Revision == g.w.Revision {
		return r
	}
	stable := ""
	switch {
	case had && r.Phase == PhaseComplete:
		stable = r.Revision
	case had && r.Stable != "":
		stable = r.Stable // a rollout replaced mid-way: the old stable still serves
	case had:
		stable = r.Revision
	default:
		// No record (first run, or the store was lost): the revision most
		// old pods run is the stable one.
		count := map[string]int{}
		for _, o := range g.old {
			count[o.Revision]++
			if count[o.Revision] > count[stable] || count[o.Revision] == count[stable] && o.Revision < stable {
				stable = o.Revision
			}
		}
	}
	if len(g.old) == 0 {
		stable = ""
	}
	active := stable
	if active == "" {
		active = g.w.Revision
	}
	return Rollout{Revision: g.w.Revision, Stable: stable, Phase: PhaseProgressing, Started: v.now, LastProgress: v.now,
		Available: -1, StepStarted: v.now, Active: active}
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func (v *view) keepOld(g *group) {
	for _, o := range g.old {
		if !g.removed[o.Key()] {
			v.handled[o.Key()] = true
		}
	}
}

// keepStable re-creates the stable revision's pods that vanished while a
// canary or blue/green rollout still relies on them, when their spec is known.
func (v *view) keepStable(g *group, r *Rollout) {
	for i, p := range v.d.Known[g.key+"@"+r.Stable] {
		if v.obs[p.Key()] == nil {
			v.create(&v.d.Known[g.key+"@"+r.Stable][i], g.key, "stable pod missing: re-create")
		}
	}
}

func (v *view) removeOld(g *group, o *nodes.PodStatus, reason string) {
	g.removed[o.Key()] = true
	v.remove(o, g.key, reason)
}

// createMissing creates the first n desired pods that do not run and whose
// name is free, at most room of them (room < 0: no limit).
func (v *view) createMissing(g *group, n, room int, reason string) {
	for _, p := range g.desired[:n] {
		if room == 0 {
			return
		}
		if g.cur[p.Key()] != nil || g.blocked(p) {
			continue
		}
		v.create(p, g.key, reason)
		room--
	}
}

func (v *view) complete(g *group, r *Rollout) {
	r.Phase, r.Message, r.Stable, r.Active, r.Weight = PhaseComplete, "", "", r.Revision, 0
	r.Promote, r.Abort = false, false
}

// replaceAll is a first deploy, or a return to the stable revision: create
// everything, and drop the rest once the new pods are available.
func (v *view) replaceAll(g *group, r *Rollout) {
	for _, o := range g.old {
		if _, taken := g.oldKeys[o.Key()]; taken && inDesired(g, o.Key()) {
			v.removeOld(g, o, "name needed by the new revision")
		}
	}
	v.createMissing(g, len(g.desired), -1, "deploy")
	if g.newAvailable(len(g.desired)) == len(g.desired) {
		for _, o := range g.old {
			if !g.removed[o.Key()] {
				v.removeOld(g, o, "replaced")
			}
		}
		v.complete(g, r)
		return
	}
	v.keepOld(g)
}

func inDesired(g *group, key string) bool {
	for _, p := range g.desired {
		if p.Key() == key {
			return true
		}
	}
	return false
}

// recreate removes every old pod, and only when they are gone starts the
// new ones: the downtime is the strategy's promise.
func (v *view) recreate(g *group, r *Rollout) {
	if g.w.Strategy.Paused && len(g.old) > 0 {
		r.Phase, r.Message = PhasePaused, "deployment paused"
		v.keepOld(g)
		return
	}
	r.Phase = PhaseProgressing
	if len(g.old) > 0 {
		for _, o := range g.old {
			v.removeOld(g, o, "recreate: stop the old revision first")
		}
		return
	}
	v.createMissing(g, len(g.desired), -1, "recreate: start the new revision")
	if g.newAvailable(len(g.desired)) == len(g.desired) {
		v.complete(g, r)
	}
}

// rolling replaces pods within maxSurge and maxUnavailable (Kubernetes'
// Deployment controller, one node's share): old pods go only while enough
// pods stay available, new ones come only while the total stays in bounds.
func (v *view) rolling(g *group, r *Rollout) {
	s := g.w.Strategy
	if r.Phase == PhaseFailed || s.Paused {
		if s.Paused {
			r.Phase, r.Message = PhasePaused, "deployment paused"
		}
		v.keepOld(g)
		return
	}
	if v.daemonSetTurn(g, r) > 0 {
		v.keepOld(g)
		return
	}
	n := len(g.desired)
	surge, unavail := int(s.MaxSurge), int(s.MaxUnavailable)
	if surge == 0 && unavail == 0 {
		unavail = 1 // Kubernetes rejects 0/0; one node's share rounds to it
	}
	oldAvail := 0
	for _, o := range g.old {
		if g.available(o) {
			oldAvail++
		}
	}
	newAvail := g.newAvailable(n)
	canDown := newAvail + oldAvail - max(n-unavail, 0)
	// Unavailable old pods serve nobody: they go first and for free; then
	// the ones holding a name the new revision needs.
	order := append([]*nodes.PodStatus(nil), g.old...)
	sort.SliceStable(order, func(i, j int) bool {
		ai, aj := ready(order[i]), ready(order[j])
		if ai != aj {
			return !ai
		}
		return inDesired(g, order[i].Key()) && !inDesired(g, order[j].Key())
	})
	for _, o := range order {
		switch {
		case !ready(o):
			v.removeOld(g, o, "rolling update: old pod not ready")
		case canDown > 0:
			canDown--
			v.removeOld(g, o, "rolling update: new pods available")
		}
	}
	v.keepOld(g)
	total := len(g.cur) + len(g.old) - len(g.removed)
	v.createMissing(g, n, max(n+surge-total, 0), "rolling update")
	if len(g.old) == len(g.removed) && newAvail == n {
		v.complete(g, r)
		return
	}
	r.Phase = PhaseProgressing
	if d := time.Duration(s.ProgressDeadlineSeconds) * time.Second; d > 0 && r.Available == newAvail && v.now.Sub(r.LastProgress) > d {
		r.Phase = PhaseFailed
		r.Message = fmt.Sprintf("progress deadline exceeded: %d of %d new pods available after %s; the old pods keep serving", newAvail, n, d)
	}
}

// blueGreen brings the new revision up beside the old one, switches the
// activeService when promoted, and keeps the old one scaleDownDelaySeconds
// so an abort switches back at once.
func (v *view) blueGreen(g *group, r *Rollout) {
	bg := g.w.Strategy.BlueGreen
	if bg == nil {
		bg = &plan.BlueGreen{AutoPromotionEnabled: true, ScaleDownDelaySeconds: 30}
	}
	stableLeft := false
	for _, o := range g.old {
		if o.Revision == r.Stable {
			stableLeft = true
		}
	}
	if r.Abort {
		r.Abort = false
		if stableLeft {
			r.Phase, r.Active, r.Message = PhaseAborted, r.Stable, "aborted: activeService back on "+r.Stable
		} else {
			r.Message = "abort ignored: the old revision is already gone"
		}
	}
	if r.Phase == PhaseAborted {
		r.Promote = false
		for _, p := range g.desired {
			if o := g.cur[p.Key()]; o != nil {
				v.remove(o, g.key, "rollout aborted")
			}
		}
		v.keepOld(g)
		v.keepStable(g, r)
		return
	}
	v.createMissing(g, len(g.desired), -1, "blue/green: new revision beside the old")
	all := g.newAvailable(len(g.desired)) == len(g.desired)
	if r.Active != r.Revision {
		v.keepOld(g)
		v.keepStable(g, r)
		r.Phase = PhaseProgressing
		if !all {
			return
		}
		if r.ReadyAt.IsZero() {
			r.ReadyAt = v.now
		}
		auto := bg.AutoPromotionEnabled && !v.now.Before(r.ReadyAt.Add(time.Duration(bg.AutoPromotionSeconds)*time.Second))
		if r.Promote || auto {
			r.Promote, r.Active, r.SwitchedAt = false, r.Revision, v.now
			r.Message = "activeService switched to " + r.Revision
		} else {
			r.Phase, r.Message = PhasePaused, "new revision ready: waiting for promote"
			return
		}
	}
	r.Promote = false
	delay := time.Duration(bg.ScaleDownDelaySeconds) * time.Second
	scaleDown := !v.now.Before(r.SwitchedAt.Add(delay))
	for _, o := range g.old {
		if scaleDown || o.Revision != r.Stable {
			v.removeOld(g, o, "blue/green: old revision scaled down")
		}
	}
	v.keepOld(g)
	if all && len(g.removed) == len(g.old) {
		v.complete(g, r)
	}
}

// canaryPods is how many canary pods a weight needs (at least one).
func canaryPods(weight int32, n int) int {
	if weight <= 0 || n == 0 {
		return 0
	}
	k := (int(weight)*n + 99) / 100
	return min(max(k, 1), n)
}

// canary walks the steps: setWeight moves an exact share of traffic to the
// canary once its pods are ready, pause waits (timed, or for promote). A
// canary that crash loops or stays unready past the deadline aborts.
func (v *view) canary(g *group, r *Rollout) {
	var steps []plan.CanaryStep
	if c := g.w.Strategy.Canary; c != nil {
		steps = c.Steps
	}
	n := len(g.desired)
	if r.Abort {
		r.Abort, r.Phase, r.Message = false, PhaseAborted, "aborted by the user: traffic back on "+r.Stable
	}
	if r.Phase != PhaseAborted {
		deadline := time.Duration(g.w.Strategy.ProgressDeadlineSeconds) * time.Second
		if deadline <= 0 {
			deadline = 10 * time.Minute
		}
		for _, p := range g.desired {
			o := g.cur[p.Key()]
			switch {
			case o == nil:
			case o.Restarts() >= CrashLoopRestarts:
				r.Phase, r.Message = PhaseAborted, fmt.Sprintf("canary %s crash looping (%d restarts): traffic back on %s", o.Name, o.Restarts(), r.Stable)
			case !ready(o) && !o.StartedAt.IsZero() && v.now.Sub(o.StartedAt) > deadline:
				r.Phase, r.Message = PhaseAborted, fmt.Sprintf("canary %s not ready after %s: traffic back on %s", o.Name, deadline, r.Stable)
			}
		}
	}
	if r.Phase == PhaseAborted {
		r.Weight, r.Promote = 0, false
		for _, p := range g.desired {
			if o := g.cur[p.Key()]; o != nil {
				v.remove(o, g.key, "canary aborted")
			}
		}
		v.keepOld(g)
		v.keepStable(g, r)
		return
	}
	r.Phase, r.Message = PhaseProgressing, ""
	for r.Step < len(steps) {
		s := steps[r.Step]
		if s.SetWeight != nil {
			r.Weight = *s.SetWeight
			k := canaryPods(r.Weight, n)
			v.createMissing(g, k, -1, fmt.Sprintf("canary: setWeight %d", r.Weight))
			if g.newAvailable(k) < k {
				break
			}
			r.Step, r.StepStarted = r.Step+1, v.now
			continue
		}
		if s.PauseSeconds > 0 && !v.now.Before(r.StepStarted.Add(time.Duration(s.PauseSeconds)*time.Second)) || r.Promote {
			r.Promote = false
			r.Step, r.StepStarted = r.Step+1, v.now
			continue
		}
		r.Phase = PhasePaused
		if s.PauseSeconds > 0 {
			r.Message = fmt.Sprintf("paused until %s", r.StepStarted.Add(time.Duration(s.PauseSeconds)*time.Second).UTC().Format(time.RFC3339))
		} else {
			r.Message = "paused: waiting for promote"
		}
		break
	}
	if r.Step < len(steps) {
		v.createMissing(g, canaryPods(r.Weight, n), -1, "canary")
		v.keepOld(g)
		v.keepStable(g, r)
		return
	}
	// Every step done: the full new revision, then all traffic, then the
	// stable pods go.
	v.createMissing(g, n, -1, "canary: promote to full")
	if g.newAvailable(n) < n {
		v.keepOld(g)
		return
	}
	for _, o := range g.old {
		v.removeOld(g, o, "canary promoted: stable scaled down")
	}
	v.complete(g, r)
}
