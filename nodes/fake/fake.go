// Package fake is an in-memory node for the reconciler's unit tests: a
// Runtime that keeps pods in a map, a Router that remembers the last routes,
// and a Clock the test moves by hand. Knobs let a test make a pod ready or
// unready, crash it, finish it, fail an image pull, or delete it behind the
// reconciler's back.
package fake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Clock is a manual clock; it never moves on its own.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Call is one runtime call, in the order it happened.
type Call struct {
	Op  string // create, stop, remove, update
	Key string
}

// String is "op key".
func (c Call) String() string { return c.Op + " " + c.Key }

// Runtime is an in-memory pod runtime. The zero value is not usable; use New.
type Runtime struct {
	mu    sync.Mutex
	clock interface{ Now() time.Time }
	pods  map[string]*nodes.PodStatus
	specs map[string]*plan.Pod
	// deadlines are the grace deadlines StopPod and RemovePod were given.
	deadlines map[string]time.Time
	calls     []Call
	ipSeq     int

	// AutoReady makes a created pod ready at once (default true).
	AutoReady bool
	failPull  map[string]string // image -> message
	failOp    map[string]error  // "op key" -> error, once
	// ObserveErr, when set, is returned by Observe.
	ObserveErr error
}

// New returns an empty runtime whose times come from clock.
func New(clock interface{ Now() time.Time }) *Runtime {
	return &Runtime{
		clock:     clock,
		pods:      map[string]*nodes.PodStatus{},
		specs:     map[string]*plan.Pod{},
		deadlines: map[string]time.Time{},
		failPull:  map[string]string{},
		failOp:    map[string]error{},
		AutoReady: true,
	}
}

// Observe returns every pod, sorted by key, as copies.
func (r *Runtime) Observe(ctx context.Context) (nodes.NodeState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ObserveErr != nil {
		return nodes.NodeState{}, r.ObserveErr
	}
	keys := slices.Sorted(maps.Keys(r.pods))
	st := nodes.NodeState{Pods: make([]nodes.PodStatus, 0, len(keys))}
	for _, k := range keys {
		st.Pods = append(st.Pods, copyStatus(r.pods[k]))
	}
	return st, nil
}

func copyStatus(p *nodes.PodStatus) nodes.PodStatus {
	c := *p
	c.Labels = maps.Clone(p.Labels)
	c.Containers = slices.Clone(p.Containers)
	return c
}

func (r *Runtime) injected(op, key string) error {
	if err, ok := r.failOp[op+" "+key]; ok {
		delete(r.failOp, op+" "+key)
		return err
	}
	return nil
}

// CreatePod starts a pod; creating a pod that exists with the same hash is a no-op.
func (r *Runtime) CreatePod(ctx context.Context, p *plan.Pod) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := p.Key()
	r.calls = append(r.calls, Call{"create", key})
	if err := r.injected("create", key); err != nil {
		return err
	}
	for _, c := range p.Spec.Containers {
		if msg, ok := r.failPull[c.Image]; ok {
			return fmt.Errorf("pull %s: %s", c.Image, msg)
		}
	}
	if old, ok := r.pods[key]; ok {
		if old.Hash == p.Hash {
			return nil
		}
		return fmt.Errorf("create %s: a pod with another hash exists", key)
	}
	now := r.clock.Now()
	r.ipSeq++
	st := &nodes.PodStatus{
		Namespace: p.Namespace, Name: p.Name,
		Labels:   maps.Clone(p.Labels),
		Owner:    p.Owner,
		Revision: p.Revision, Hash: p.Hash, ConfigHash: p.ConfigHash,
		IP:        fmt.Sprintf("10.88.%d.%d", r.ipSeq/250, r.ipSeq%250+2),
		Phase:     nodes.PhaseRunning,
		StartedAt: now,

		GracePeriodSeconds: p.Spec.TerminationGracePeriodSeconds,
	}
	for _, c := range p.Spec.Containers {
		st.Containers = append(st.Containers, nodes.ContainerStatus{
			Name: c.Name, Image: c.Image, State: nodes.StateRunning, StartedAt: now,
		})
	}
	r.pods[key] = st
	cp := *p
	r.specs[key] = &cp
	if r.AutoReady {
		setReady(st, true, now)
	}
	return nil
}

func setReady(st *nodes.PodStatus, ready bool, now time.Time) {
	if ready && !st.Ready {
		st.ReadySince = now
	}
	if !ready {
		st.ReadySince = time.Time{}
	}
	st.Ready = ready
	for i := range st.Containers {
		st.Containers[i].Ready = ready
	}
}

// StopPod stops a pod's containers and releases its IP, keeping its
// status, at once (the fake has no grace period; Deadline tells what it
// was given).
func (r *Runtime) StopPod(ctx context.Context, key string, deadline time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{"stop", key})
	r.deadlines[key] = deadline
	if err := r.injected("stop", key); err != nil {
		return err
	}
	st, ok := r.pods[key]
	if !ok {
		return nil
	}
	now := r.clock.Now()
	setReady(st, false, now)
	st.IP = ""
	for i := range st.Containers {
		c := &st.Containers[i]
		if c.State != nodes.StateTerminated {
			c.State, c.ExitCode, c.Reason, c.FinishedAt = nodes.StateTerminated, 137, "Stopped", now
		}
	}
	if st.Phase == nodes.PhaseRunning || st.Phase == nodes.PhasePending {
		st.Phase = nodes.PhaseFailed
		st.Reason = "Stopped"
	}
	return nil
}

// RemovePod deletes a pod; removing a missing pod is a no-op.
func (r *Runtime) RemovePod(ctx context.Context, key string, deadline time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{"remove", key})
	r.deadlines[key] = deadline
	if err := r.injected("remove", key); err != nil {
		return err
	}
	delete(r.pods, key)
	delete(r.specs, key)
	return nil
}

// UpdatePodConfig records the new config hash of a running pod.
func (r *Runtime) UpdatePodConfig(ctx context.Context, p *plan.Pod) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{"update", p.Key()})
	if err := r.injected("update", p.Key()); err != nil {
		return err
	}
	st, ok := r.pods[p.Key()]
	if !ok {
		return fmt.Errorf("update %s: no such pod", p.Key())
	}
	st.ConfigHash = p.ConfigHash
	return nil
}

// Deadline is the grace deadline the last StopPod or RemovePod of key was
// given.
func (r *Runtime) Deadline(key string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deadlines[key]
}

// Calls returns the runtime calls so far and forgets them.
func (r *Runtime) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// Keys returns the sorted keys of every pod.
func (r *Runtime) Keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.pods))
}

// Names returns the sorted names of the pods whose name starts with prefix
// (with no namespace), a compact view for asserting pod sets.
func (r *Runtime) Names(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.pods {
		if strings.HasPrefix(p.Name, prefix) {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Pod returns a copy of one pod's status.
func (r *Runtime) Pod(key string) (nodes.PodStatus, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pods[key]
	if !ok {
		return nodes.PodStatus{}, false
	}
	return copyStatus(p), true
}

// Spec returns the plan pod a pod was created from.
func (r *Runtime) Spec(key string) *plan.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.specs[key]
}

func (r *Runtime) with(key string, f func(*nodes.PodStatus, time.Time)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.pods[key]; ok {
		f(st, r.clock.Now())
	}
}

// SetReady makes a pod ready or unready.
func (r *Runtime) SetReady(key string, ready bool) {
	r.with(key, func(st *nodes.PodStatus, now time.Time) { setReady(st, ready, now) })
}

// SetAllReady makes every running pod whose name starts with prefix ready.
func (r *Runtime) SetAllReady(prefix string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	for _, st := range r.pods {
		if strings.HasPrefix(st.Name, prefix) && st.Phase == nodes.PhaseRunning {
			setReady(st, true, now)
		}
	}
}

// Crash makes a pod's first container restart n times and leaves it in
// CrashLoopBackOff, unready.
func (r *Runtime) Crash(key string, n int) {
	r.with(key, func(st *nodes.PodStatus, now time.Time) {
		setReady(st, false, now)
		st.Reason = "CrashLoopBackOff"
		if len(st.Containers) > 0 {
			st.Containers[0].RestartCount += n
			st.Containers[0].State = nodes.StateWaiting
			st.Containers[0].Reason = "CrashLoopBackOff"
		}
	})
}

// Exit ends every container of a pod with code: 0 is Succeeded, other
// codes Failed (a Job's pod). The pod keeps its IP until StopPod.
func (r *Runtime) Exit(key string, code int) {
	r.with(key, func(st *nodes.PodStatus, now time.Time) {
		setReady(st, false, now)
		st.Phase = nodes.PhaseSucceeded
		reason := "Completed"
		if code != 0 {
			st.Phase, reason = nodes.PhaseFailed, "Error"
		}
		for i := range st.Containers {
			c := &st.Containers[i]
			c.State, c.ExitCode, c.Reason, c.FinishedAt = nodes.StateTerminated, code, reason, now
		}
	})
}

// Delete removes a pod behind the reconciler's back (ctr task kill, rm).
func (r *Runtime) Delete(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pods, key)
	delete(r.specs, key)
}

// FailPull makes every CreatePod of a pod using image fail with msg; an
// empty msg clears the failure.
func (r *Runtime) FailPull(image, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if msg == "" {
		delete(r.failPull, image)
		return
	}
	r.failPull[image] = msg
}

// FailOnce makes the next call of op (create, stop, remove, update) on key
// return err.
func (r *Runtime) FailOnce(op, key string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failOp[op+" "+key] = err
}

// Add puts a pod status in as is: a pod berth did not create (no hash) or
// one left over from an earlier run.
func (r *Runtime) Add(st nodes.PodStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := copyStatus(&st)
	r.pods[st.Key()] = &c
}

// Router remembers the routes of the last Sync.
type Router struct {
	mu     sync.Mutex
	routes []nodes.ServiceRoute
	fw     nodes.Firewall
	syncs  int
	// Err, when set, is returned by Sync.
	Err error
}

// Sync replaces the routes.
func (r *Router) Sync(ctx context.Context, routes []nodes.ServiceRoute) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return r.Err
	}
	r.routes = slices.Clone(routes)
	r.syncs++
	return nil
}

// SyncAll replaces the routes and the firewall.
func (r *Router) SyncAll(ctx context.Context, routes []nodes.ServiceRoute, fw nodes.Firewall) error {
	if err := r.Sync(ctx, routes); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fw = fw
	return nil
}

// Firewall returns the firewall of the last SyncAll.
func (r *Router) Firewall() nodes.Firewall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fw
}

// Routes returns the last synced routes.
func (r *Router) Routes() []nodes.ServiceRoute {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.routes)
}

// Route returns the synced route of service namespace/name.
func (r *Router) Route(key string) (nodes.ServiceRoute, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rt := range r.routes {
		if rt.Key() == key {
			return rt, true
		}
	}
	return nodes.ServiceRoute{}, false
}

// Syncs is how many times Sync succeeded.
func (r *Router) Syncs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncs
}
