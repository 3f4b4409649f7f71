package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler/store"
)

// Options configure a Reconciler; zero values take the defaults.
type Options struct {
	Runtime Runtime
	Router  Router
	// Store keeps progress across restarts (default: in memory only).
	Store  Store
	Clock  Clock
	Logger *slog.Logger
	// Node is this node's name in the plan.
	Node string
	// Parallel bounds the actions run at once (default 8).
	Parallel int
	// Retries is how often a failed action is retried in one pass
	// (default 2), after RetryDelay, doubling (default 200ms).
	Retries    int
	RetryDelay time.Duration
	// Resync is how often Run reconciles without a new plan (default
	// DefaultResync): drift is repaired, and rollout steps, pauses,
	// back-offs and schedules move on time. Run's timer is the node's only
	// resync: the GitOps loop hands a plan over once, not on a timer.
	Resync time.Duration
	// OnResync, when set, is called on Run's loop before each pass its
	// resync timer starts, with the plan it runs: what else drifts on the
	// node and follows the plan (the daemon's routes to other nodes' pod
	// CIDRs) is repaired on the same timer.
	OnResync func(ctx context.Context, p *plan.Plan)
	// OnPass, when set, is told the result and the duration of every pass
	// Run's loop runs (`berth apply` prints its progress from them, the
	// daemon's metrics time them).
	OnPass func(res Result, took time.Duration, err error)
	// WaitingPoll is how soon Run passes again while pods are awaited
	// (default 250ms).
	WaitingPoll time.Duration
	// Events is the size of the event ring (default 256).
	Events int
	// JobBackoff is the Job retry back-off (default 10s doubling to 6m).
	JobBackoff Backoff
	// FailureBackoff spaces the passes that retry an action which failed
	// every try of a pass (default 5s doubling to 5m): a registry that is
	// down is not hammered.
	FailureBackoff Backoff
	// Peers, when set, tells the routes what the other nodes have ready
	// (Desired.Peers); without it they weigh other nodes by the schedule.
	Peers interface {
		Peers() map[string]PeerReadiness
	}
	// StopDeadline bounds a stop or removal in the background (default
	// 15m): past it the action fails and is retried, so a pod cannot stay
	// "terminating" forever.
	StopDeadline time.Duration
	// OnDrift, when set, is told what a pass repaired on a node that had
	// converged on the same revision (drift.go).
	OnDrift func(revision string, repairs []string)
	// StopWait is how long a pass waits for pods to stop (default 2s).
	// A pod that takes longer (it uses its grace period) goes on stopping
	// in the background: it counts as terminating (there, not ready, out
	// of every service) until it is gone, and the passes go on meanwhile,
	// so one slow pod does not hold up the node's other workloads.
	StopWait time.Duration
	// Drainer, when set, lets a pod that left the service rules finish the
	// connections it was serving before it is stopped, for at most
	// DrainMax (default 10s) and never past its grace period.
	Drainer  Drainer
	DrainMax time.Duration
	// Claims deletes the data of claims a StatefulSet's retention policy
	// deletes (nodes/volumes); without it such claims are kept.
	Claims Claims
}

// DefaultResync is how often a node reconciles without a new plan.
const DefaultResync = 5 * time.Second

// Reconciler applies plans to one node.
type Reconciler struct {
	opts   Options
	events *ring
	poke   chan struct{}
	// applies are Apply's requests to Run's loop.
	applies chan applyRequest

	// passMu makes passes and user requests take turns; the holder is the
	// only writer of the fields below.
	passMu   sync.Mutex
	loaded   bool
	revision string // last applied plan revision
	routes   []nodes.ServiceRoute
	fw       nodes.Firewall
	// fwMemo is the last Firewall computed, for inputs fwInputs.
	fwMemo   *nodes.Firewall
	fwInputs uint64
	synced   bool
	// programmed is routes for readers on other goroutines (under mu).
	programmed []nodes.ServiceRoute
	// known remembers the pods of recent revisions (Desired.Known); lost
	// on restart, which only means a vanished stable pod is not re-created.
	known         map[string][]plan.Pod
	rememberedRev string
	// part is DesiredFor(partOf, partNode), kept between passes.
	part     Desired
	partOf   *plan.Plan
	partNode string
	// bg counts the actions of a stage, background stops included (see
	// StopWait); tests wait on it.
	bg sync.WaitGroup

	// mu guards what Status reads while a pass runs (it may take long:
	// image pulls), held only briefly.
	mu       sync.Mutex
	state    State
	desired  Desired
	observed nodes.NodeState
	lastPass time.Time
	lastErr  string
	// failures are the actions that failed, by "kind key" (executor back-off).
	failures map[string]failure
	// stopping are the pods whose stop or removal goes on in the background;
	// bgErrs the errors of those that ended, for the status (lastErr).
	stopping map[string]bool
	bgErrs   []error
	// stops are the stops and removals begun and not yet done, as in the
	// store (bucketStops), by pod key.
	stops map[string]Stop
	// localReady counts this node's ready pods by service, as the last
	// synced routes send traffic to them (LocalReady); localHeadless are
	// its ready pods of headless services (LocalHeadless).
	localReady    map[string]int
	localHeadless map[string]map[string]string
	// lastRev and lastConverged are the last pass's (drift); written by
	// the pass holder.
	lastRev       string
	lastConverged bool
}

// New returns a Reconciler; progress is loaded from the store on the first pass.
func New(o Options) *Reconciler {
	if o.Store == nil {
		o.Store = store.NewMemory()
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 200 * time.Millisecond
	}
	if o.Resync <= 0 {
		o.Resync = DefaultResync
	}
	if o.WaitingPoll <= 0 {
		o.WaitingPoll = 250 * time.Millisecond
	}
	if o.Events <= 0 {
		o.Events = 256
	}
	if o.JobBackoff == (Backoff{}) {
		o.JobBackoff = DefaultJobBackoff
	}
	if o.FailureBackoff == (Backoff{}) {
		o.FailureBackoff = Backoff{Base: 5 * time.Second, Max: 5 * time.Minute}
	}
	if o.StopWait <= 0 {
		o.StopWait = 2 * time.Second
	}
	if o.DrainMax <= 0 {
		o.DrainMax = 10 * time.Second
	}
	if o.StopDeadline <= 0 {
		o.StopDeadline = 15 * time.Minute
	}
	return &Reconciler{opts: o, events: newRing(o.Events), poke: make(chan struct{}, 1), applies: make(chan applyRequest),
		failures: map[string]failure{}, stopping: map[string]bool{}, stops: map[string]Stop{},
		state: State{Rollouts: map[string]Rollout{}, Jobs: map[string]JobRun{}, Crons: map[string]CronRuns{}, History: map[string]RevisionHistory{}}}
}

// Result is the outcome of one pass.
type Result struct {
	Revision string   `json:"revision"`
	Actions  []Action `json:"actions,omitempty"`
	Failed   int      `json:"failed"`
	// Converged: nothing left to do, every pod of the node ready, no
	// rollout moving or paused. Waiting says what is not there yet.
	Converged bool     `json:"converged"`
	Waiting   []string `json:"waiting,omitempty"`
	// Wake is when time alone next changes a decision (zero: never).
	Wake time.Time `json:"wake,omitzero"`
}

// Reconcile runs one pass for node (empty: Options.Node): observe, diff,
// record the progress, act, program the routes.
func (r *Reconciler) Reconcile(ctx context.Context, p *plan.Plan, node string) (Result, error) {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	res, err := r.pass(ctx, p, node)
	r.drift(p.Revision, res)
	r.mu.Lock()
	r.lastPass = r.opts.Clock.Now()
	r.lastErr = ""
	if err != nil {
		r.lastErr = err.Error()
	}
	// A stop that failed in the background belongs to an earlier pass:
	// it shows in the status (and its event), without failing this one,
	// which may apply another revision; its back-off retries it.
	if len(r.bgErrs) > 0 {
		bg := fmt.Sprintf("a stop in the background failed: %v", errors.Join(r.bgErrs...))
		r.bgErrs = nil
		if r.lastErr != "" {
			bg = r.lastErr + "; " + bg
		}
		r.lastErr = bg
	}
	r.mu.Unlock()
	return res, err
}

func (r *Reconciler) pass(ctx context.Context, p *plan.Plan, node string) (Result, error) {
	if !r.loaded {
		r.mu.Lock()
		err := r.load()
		r.mu.Unlock()
		if err != nil {
			return Result{}, err
		}
	}
	if node == "" {
		node = r.opts.Node
	}
	if _, err := p.NodePlan(node); err != nil {
		return Result{Revision: p.Revision}, fmt.Errorf("plan %s: %w; nothing was changed", p.Revision, err)
	}
	// The node's part is resolved once per plan; passes in between (the
	// loop's ticks) reuse it.
	if r.partOf != p || r.partNode != node || r.part.Revision != p.Revision {
		r.part, r.partOf, r.partNode = DesiredFor(p, node), p, node
	}
	d := r.part
	d.JobBackoff = r.opts.JobBackoff
	if p.Revision != r.rememberedRev || r.known == nil {
		r.remember(d)
		r.rememberedRev = p.Revision
	}
	d.Known = r.known
	if r.opts.Peers != nil {
		d.Peers = r.opts.Peers.Peers()
	}
	r.mu.Lock()
	r.desired = d
	r.mu.Unlock()
	res := Result{Revision: p.Revision}
	if p.Revision != r.revision {
		raw, err := json.Marshal(p)
		if err != nil {
			return res, fmt.Errorf("encode plan: %w", err)
		}
		if err := r.opts.Store.Save([]store.Record{{Bucket: bucketMeta, Key: "revision", Value: []byte(p.Revision)}, {Bucket: bucketMeta, Key: "plan", Value: raw}}); err != nil {
			return res, err
		}
		r.revision = p.Revision
	}
	obs, err := r.opts.Runtime.Observe(ctx)
	if err != nil {
		return res, fmt.Errorf("observe node %s: %w", node, err)
	}
	r.mu.Lock()
	stopping := r.markStopping(&obs)
	resumed, done := r.recordedStops(obs)
	r.observed = obs
	st := r.state.clone()
	r.mu.Unlock()
	st.Now = r.opts.Clock.Now()
	acts := Diff(d, obs, st)
	if len(stopping) > 0 {
		// A pod whose stop runs in the background, or was recorded, has
		// its action already.
		kept := acts[:0:0]
		for _, a := range acts {
			if a.Kind == ActRecord || !stopping[a.Key] {
				kept = append(kept, a)
			}
		}
		acts = append(kept, resumed...)
		sortActions(acts)
	}
	recs := done
	for i := range acts {
		if a := &acts[i]; (a.Kind == ActRemove || a.Kind == ActStop) && a.Deadline.IsZero() {
			// Write ahead: the stop and its deadline land before the stop.
			var grace int64
			if o := obs.Pod(a.Key); o != nil {
				grace = o.GracePeriodSeconds
			}
			a.Deadline = st.Now.Add(time.Duration(grace) * time.Second)
			recs = append(recs, &Record{Bucket: bucketStops, Key: a.Key,
				Value: Stop{Hash: a.Hash, Remove: a.Kind == ActRemove, Deadline: a.Deadline, Object: a.Object, Reason: a.Reason}})
		}
	}
	res.Actions = acts

	byKind := map[ActionKind][]Action{}
	leaving := map[string]bool{}
	maps.Copy(leaving, stopping)
	for _, a := range acts {
		if a.Kind == ActRecord {
			recs = append(recs, a.Record)
			continue
		}
		byKind[a.Kind] = append(byKind[a.Kind], a)
		if a.Kind == ActRemove || a.Kind == ActStop {
			leaving[a.Key] = true
		}
	}
	// Write ahead: the progress these actions imply lands before them.
	if len(recs) > 0 {
		if err := r.save(recs); err != nil {
			return res, fmt.Errorf("record progress: %w", err)
		}
		r.progressEvents(st, recs)
	}
	var errs []error
	// Routes first lose the pods about to go, so no request reaches them
	// (a stop resumed after a restart included: the routes were not synced
	// since).
	if len(byKind[ActRemove])+len(byKind[ActStop]) > 0 {
		if err := r.syncRoutes(ctx, d, obs, leaving); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, r.stage(ctx, append(byKind[ActRemove], byKind[ActStop]...), r.opts.StopWait)...)
	errs = append(errs, r.stage(ctx, byKind[ActUpdateConfig], 0)...)
	errs = append(errs, r.stage(ctx, byKind[ActCreate], 0)...)
	errs = append(errs, r.stage(ctx, byKind[ActDeleteClaim], 0)...)
	if len(byKind) > 0 {
		if obs, err = r.opts.Runtime.Observe(ctx); err != nil {
			return res, fmt.Errorf("observe node %s: %w", node, err)
		}
		r.mu.Lock()
		stopping = r.markStopping(&obs)
		r.observed = obs
		r.mu.Unlock()
	}
	if err := r.syncRoutes(ctx, d, obs, stopping); err != nil {
		errs = append(errs, err)
	}
	res.Failed = len(errs)
	res.Waiting = r.waiting(d, obs)
	for _, k := range mapKeys(stopping) {
		res.Waiting = append(res.Waiting, "pod "+k+" terminating")
	}
	r.mu.Lock()
	after := r.state.clone()
	r.mu.Unlock()
	after.Now = st.Now
	res.Wake = Wake(d, obs, after)
	res.Converged = len(acts) == 0 && len(recs) == 0 && len(res.Waiting) == 0 && len(errs) == 0
	if len(errs) > 0 {
		return res, fmt.Errorf("reconcile %s at %s: %w", node, p.Revision, errors.Join(errs...))
	}
	return res, nil
}

// markStopping shows the pods still stopping in the background, or whose
// recorded stop is not done, as what they are: terminating, so neither
// ready nor counted as available. It returns their keys. The caller holds
// r.mu.
func (r *Reconciler) markStopping(obs *nodes.NodeState) map[string]bool {
	out := maps.Clone(r.stopping)
	for k, s := range r.stops {
		if o := obs.Pod(k); o != nil && o.Hash == s.Hash {
			if out == nil {
				out = map[string]bool{}
			}
			out[k] = true
		}
	}
	for k := range out {
		if o := obs.Pod(k); o != nil {
			o.Ready, o.Reason = false, "Terminating"
		}
	}
	return out
}

// recordedStops issues again the recorded stops that no action runs (the
// daemon restarted in the middle of one, or it failed), with their
// deadline, and forgets those whose pod is gone or was replaced. The
// caller holds r.mu.
func (r *Reconciler) recordedStops(obs nodes.NodeState) (resume []Action, done []*Record) {
	for _, k := range mapKeys(r.stops) {
		s := r.stops[k]
		switch o := obs.Pod(k); {
		case o == nil || o.Hash != s.Hash:
			done = append(done, &Record{Bucket: bucketStops, Key: k})
		case !r.stopping[k]:
			kind := ActStop
			if s.Remove {
				kind = ActRemove
			}
			resume = append(resume, Action{Kind: kind, Key: k, Object: s.Object, Reason: s.Reason + " (resumed)", Hash: s.Hash, Deadline: s.Deadline})
		}
	}
	return resume, done
}

// progressEvents reports rollout phase and step changes, and finished Jobs.
func (r *Reconciler) progressEvents(before State, recs []*Record) {
	now := r.opts.Clock.Now()
	for _, rec := range recs {
		switch v := rec.Value.(type) {
		case Rollout:
			old, had := before.Rollouts[rec.Key]
			if v.Message != old.Message && v.Message != "" && strings.HasPrefix(rec.Key, "StatefulSet/") {
				// What a set spread over nodes waits for there
				// (setorder.go); by time for nodes without word.
				level := slog.LevelInfo
				if !v.Waiting.IsZero() {
					level = slog.LevelWarn
				}
				r.opts.Logger.Log(context.Background(), level, "statefulset order across nodes", "workload", rec.Key, "waits", v.Message)
			}
			if had && old.Phase == v.Phase && old.Step == v.Step && old.Active == v.Active && old.Revision == v.Revision {
				continue
			}
			reason := fmt.Sprintf("revision %s: %s", v.Revision, v.Phase)
			if v.Message != "" {
				reason += ": " + v.Message
			}
			r.events.add(Event{Time: now, Object: rec.Key, Action: "rollout", Reason: reason, Result: "ok"})
			r.opts.Logger.Info("rollout", "workload", rec.Key, "revision", v.Revision, "phase", v.Phase, "step", v.Step, "message", v.Message)
		case JobRun:
			if old := before.Jobs[rec.Key]; v.finished() && (old.Phase != v.Phase || old.Revision != v.Revision) {
				r.events.add(Event{Time: now, Object: rec.Key, Action: "job", Reason: fmt.Sprintf("%s %s (%d succeeded, %d failed)", v.Phase, v.Reason, v.Succeeded, v.Failed), Result: "ok"})
			}
		}
	}
}

// remember adds the desired pods to known, and forgets revisions that are
// neither desired nor some rollout's stable revision.
func (r *Reconciler) remember(d Desired) {
	if r.known == nil {
		r.known = map[string][]plan.Pod{}
	}
	keep := map[string]bool{}
	for i := range d.Workloads {
		w := &d.Workloads[i]
		keep[w.Key()+"@"+w.Revision] = true
		if ro, ok := r.state.Rollouts[w.Key()]; ok {
			// The recorded revision becomes the stable one when a new
			// rollout starts in this pass.
			keep[w.Key()+"@"+ro.Revision] = true
			keep[w.Key()+"@"+ro.Stable] = true
		}
	}
	fresh := map[string][]plan.Pod{}
	for i := range d.Pods {
		p := &d.Pods[i]
		k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name) + "@" + p.Revision
		fresh[k] = append(fresh[k], *p)
	}
	for k, pods := range fresh {
		r.known[k] = pods
	}
	for k := range r.known {
		if !keep[k] {
			delete(r.known, k)
		}
	}
}

func (r *Reconciler) syncRoutes(ctx context.Context, d Desired, obs nodes.NodeState, leaving map[string]bool) error {
	routes := Routes(d, obs, r.state, leaving)
	var fw nodes.Firewall
	if len(d.NetworkPolicies) > 0 {
		// Firewall costs milliseconds on a big node: recomputed only
		// when the plan, this node's pods or the others' changed.
		if in := firewallInputs(&d, obs); r.fwMemo != nil && in == r.fwInputs {
			fw = *r.fwMemo
		} else {
			fw = Firewall(d, obs)
			r.fwMemo, r.fwInputs = &fw, in
		}
	}
	if r.synced && reflect.DeepEqual(routes, r.routes) && reflect.DeepEqual(fw, r.fw) {
		return nil
	}
	if err := r.opts.Router.SyncAll(ctx, routes, fw); err != nil {
		r.events.add(Event{Time: r.opts.Clock.Now(), Object: "routes", Action: "sync", Reason: "services or network policies changed", Result: "failed", Error: err.Error()})
		return fmt.Errorf("sync service routes and network policies: %w", err)
	}
	r.routes, r.fw, r.synced = routes, fw, true
	ready, headless := localReady(routes), localHeadless(routes)
	r.mu.Lock()
	r.localReady, r.localHeadless, r.programmed = ready, headless, routes
	r.mu.Unlock()
	return nil
}

// waiting lists what keeps the node from being converged.
func (r *Reconciler) waiting(d Desired, obs nodes.NodeState) []string {
	var out []string
	for i := range d.Pods {
		p := &d.Pods[i]
		o := obs.Pod(p.Key())
		if o == nil || o.Hash != p.Hash || !ready(o) {
			out = append(out, "pod "+p.Key()+" not ready")
		}
	}
	for _, k := range mapKeys(r.state.Rollouts) {
		ro := r.state.Rollouts[k]
		if ro.Phase == PhaseProgressing || ro.Phase == PhasePaused {
			msg := "rollout " + k + " " + ro.Phase
			if ro.Message != "" {
				msg += ": " + ro.Message
			}
			out = append(out, msg)
		}
	}
	return out
}
