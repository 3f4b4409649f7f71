package reconciler

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Health states of a revision on a node.
const (
	HealthProgressing = "progressing"
	HealthHealthy     = "healthy"
	HealthFailed      = "failed"
)

// CrashLoopRestarts is how many restarts make a pod of a new revision
// crash looping: past the kubelet's first back-offs (10s, 20s), it is not
// coming up by itself.
const CrashLoopRestarts = 3

// Health is what became of a revision on this node.
type Health struct {
	Revision string `json:"revision"`
	// State is progressing, healthy or failed.
	State string `json:"state"`
	// Reason says why it is failed or what it waits for; Object names the
	// workload (Kind/namespace/name) it is about.
	Reason string `json:"reason,omitempty"`
	Object string `json:"object,omitempty"`
}

// RevisionHealth is the health of d's revision on its node. It is
// healthy when every workload's rollout completed (all pods Ready for
// minReadySeconds) and every Job of a wave succeeded; failed when a
// rollout passed its progressDeadlineSeconds or aborted, a pod crash
// loops (CrashLoopRestarts) or exited for good, or a Job of a wave
// failed; progressing otherwise. Jobs outside waves (a plan with one
// stage and no hooks) and CronJobs do not count: their outcome is their
// own, not the revision's.
func RevisionHealth(d Desired, obs nodes.NodeState, st State, now time.Time) Health {
	h := Health{Revision: d.Revision, State: HealthHealthy}
	gates := Gates(d, obs, st)
	staged := len(plan.Stages(d.Workloads)) > 1
	desiredBy := map[string][]*plan.Pod{}
	for i := range d.Pods {
		p := &d.Pods[i]
		k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
		desiredBy[k] = append(desiredBy[k], p)
	}
	byKey := observedByKey(obs)
	ws := make([]*plan.Workload, 0, len(d.Workloads))
	for i := range d.Workloads {
		ws = append(ws, &d.Workloads[i])
	}
	slices.SortFunc(ws, func(a, b *plan.Workload) int {
		return cmp.Or(a.Stage().Compare(b.Stage()), cmp.Compare(a.Key(), b.Key()))
	})
	var progressing *Health
	for _, w := range ws {
		k := w.Key()
		state, reason := workloadHealth(w, desiredBy[k], d, byKey, st, now, staged)
		if why := gates[k]; why != "" && w.Hook != plan.HookSyncFail {
			state, reason = HealthProgressing, why
		}
		switch state {
		case HealthFailed:
			return Health{Revision: d.Revision, State: HealthFailed, Reason: reason, Object: k}
		case HealthProgressing:
			if progressing == nil {
				progressing = &Health{Revision: d.Revision, State: HealthProgressing, Reason: reason, Object: k}
			}
		}
	}
	if progressing != nil {
		return *progressing
	}
	return h
}

// workloadHealth is one workload's part of the revision's health.
func workloadHealth(w *plan.Workload, desired []*plan.Pod, d Desired, obs map[string]*nodes.PodStatus, st State, now time.Time, staged bool) (string, string) {
	k := w.Key()
	switch w.Kind {
	case "CronJob":
		return HealthHealthy, ""
	case "Job":
		if w.Hook == plan.HookSyncFail || w.Hook == "" && !staged || !(w.Node == "" || w.Node == d.Node) {
			return HealthHealthy, ""
		}
		r, ok := st.Jobs[k]
		switch {
		case !ok || r.Revision != w.Revision || r.Phase == JobRunning:
			return HealthProgressing, "job running"
		case r.Phase == JobFailed:
			return HealthFailed, fmt.Sprintf("job failed: %s (%d failed pods)", cmp.Or(r.Reason, "Failed"), r.Failed)
		}
		return HealthHealthy, ""
	}
	// Pods of the revision that will not come up.
	up := 0
	for _, p := range desired {
		o := obs[p.Key()]
		if o == nil || o.Hash != p.Hash {
			continue
		}
		switch {
		case o.Restarts() >= CrashLoopRestarts && !o.Ready:
			return HealthFailed, fmt.Sprintf("pod %s crash looping (%d restarts%s)", o.Name, o.Restarts(), podWhy(o))
		case o.Phase == nodes.PhaseFailed && (p.Spec.RestartPolicy == "Never" || w.Kind == "Pod"):
			return HealthFailed, fmt.Sprintf("pod %s failed%s", o.Name, podWhy(o))
		case ready(o) || w.Kind == "Pod" && o.Phase == nodes.PhaseSucceeded:
			up++
		}
	}
	r, had := st.Rollouts[k]
	if !had || r.Revision != w.Revision {
		if w.Kind == "Pod" || len(desired) == 0 {
			if up == len(desired) {
				return HealthHealthy, ""
			}
			return HealthProgressing, fmt.Sprintf("%d of %d pods ready", up, len(desired))
		}
		return HealthProgressing, "rollout not started"
	}
	switch r.Phase {
	case PhaseFailed, PhaseAborted:
		return HealthFailed, cmp.Or(r.Message, "rollout "+r.Phase) + notReady(desired, obs)
	case PhaseComplete:
		if up < len(desired) {
			return HealthProgressing, fmt.Sprintf("%d of %d pods ready", up, len(desired))
		}
		return HealthHealthy, ""
	}
	// Kubernetes' progress deadline holds for every strategy of a
	// Deployment (and a Rollout that sets it), a first deploy included;
	// the rolling update marks its own rollout, the others are judged here.
	if dl := time.Duration(w.Strategy.ProgressDeadlineSeconds) * time.Second; dl > 0 && r.Phase == PhaseProgressing && now.Sub(r.LastProgress) > dl {
		return HealthFailed, fmt.Sprintf("progress deadline exceeded: %d of %d new pods available after %s", max(r.Available, 0), len(desired), dl) + notReady(desired, obs)
	}
	return HealthProgressing, cmp.Or(r.Message, fmt.Sprintf("rollout %s: %d of %d pods ready", r.Phase, up, len(desired)))
}

// notReady names the first pod of the revision that is not ready, and why.
func notReady(desired []*plan.Pod, obs map[string]*nodes.PodStatus) string {
	for _, p := range desired {
		o := obs[p.Key()]
		switch {
		case o == nil:
			return fmt.Sprintf(" (pod %s not created)", p.Name)
		case o.Hash == p.Hash && !ready(o):
			return fmt.Sprintf(" (pod %s %s%s)", p.Name, o.Phase, podWhy(o))
		}
	}
	return ""
}

// podWhy is a pod's reason and message, when it has them.
func podWhy(o *nodes.PodStatus) string {
	s := ""
	if o.Reason != "" {
		s += ": " + o.Reason
	}
	if o.Message != "" {
		s += ": " + o.Message
	}
	for _, c := range o.Containers {
		if s == "" && c.Reason != "" {
			s = ": " + c.Reason
		}
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// Health returns the health of the revision the node runs, as of the last
// pass (empty before the first).
func (r *Reconciler) Health() Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.desired.Revision == "" {
		return Health{}
	}
	return RevisionHealth(r.desired, r.observed, r.state, r.opts.Clock.Now())
}

// observedByKey indexes the observed pods by namespace/name.
func observedByKey(obs nodes.NodeState) map[string]*nodes.PodStatus {
	out := make(map[string]*nodes.PodStatus, len(obs.Pods))
	for i := range obs.Pods {
		out[obs.Pods[i].Key()] = &obs.Pods[i]
	}
	return out
}
