package reconciler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Waves: the run-time half of compiler/wave. A revision's workloads start
// stage by stage (plan.Stages: PreSync hooks, then the main phase's
// waves, then PostSync hooks); a stage starts when every workload of the
// stages before it is done on every node that runs it: a Job complete, a
// rollout complete, a bare pod ready. This node knows its own progress
// (State) and the others' from the peer exchange (Desired.Peers); it
// waits for a node it has no word from.
//
// Only the start of a workload's change waits: one whose rollout or run
// is already at the desired revision goes on, so a node that converged
// never holds anything back (drift repair included).

// WaveHosts maps the workloads of a plan with more than one stage to the
// nodes that run their pods (Desired.Hosts); nil for a plan with one.
func WaveHosts(p *plan.Plan) map[string][]string {
	if len(plan.Stages(p.Workloads)) < 2 {
		return nil
	}
	out := map[string][]string{}
	for i := range p.Workloads {
		w := &p.Workloads[i]
		if w.Node != "" {
			out[w.Key()] = []string{w.Node}
		}
	}
	for _, n := range p.Nodes {
		for i := range n.Pods {
			k := ownerKey(n.Pods[i].Owner.Kind, n.Pods[i].Namespace, n.Pods[i].Owner.Name)
			if hs := out[k]; len(hs) == 0 || hs[len(hs)-1] != n.Node.Name {
				out[k] = append(hs, n.Node.Name)
			}
		}
	}
	return out
}

// hookRevision is the revision a hook Job runs as in plan revision rev:
// a hook runs again with every revision, as Argo CD runs it at every sync
// and Helm at every upgrade. Its first five characters differ from the
// template's, so a new run's pod names never meet the last run's.
func hookRevision(w *plan.Workload, rev string) string {
	sum := sha256.Sum256([]byte(w.Revision + "@" + rev))
	return hex.EncodeToString(sum[:5])
}

// hookRuns gives the hook Jobs of d their per-revision run revision.
func hookRuns(d *Desired) {
	hooks := false
	for i := range d.Workloads {
		hooks = hooks || d.Workloads[i].Hook != "" && d.Workloads[i].Kind == "Job"
	}
	if !hooks {
		return
	}
	d.Workloads = slices.Clone(d.Workloads)
	for i := range d.Workloads {
		if w := &d.Workloads[i]; w.Hook != "" && w.Kind == "Job" {
			w.Revision = hookRevision(w, d.Revision)
		}
	}
}

// hookDeletes says whether a finished hook run's pods go now, by its
// delete policy (HookSucceeded, HookFailed).
func hookDeletes(w *plan.Workload, run *JobRun) bool {
	return run.Phase == JobComplete && slices.Contains(w.HookDelete, plan.HookSucceeded) ||
		run.Phase == JobFailed && slices.Contains(w.HookDelete, plan.HookFailed)
}

// Gates returns the workloads that wait for an earlier stage, by key, with
// what they wait for. SyncFail hooks always wait: they run only in the
// plan of a revision that failed (plan.WithFailHooks).
func Gates(d Desired, obs nodes.NodeState, st State) map[string]string {
	stages := plan.Stages(d.Workloads)
	var out map[string]string
	hold := func(w *plan.Workload, why string) {
		if out == nil {
			out = map[string]string{}
		}
		out[w.Key()] = why
	}
	for i := range d.Workloads {
		if w := &d.Workloads[i]; w.Hook == plan.HookSyncFail {
			hold(w, "runs only when the revision fails")
		}
	}
	if len(stages) < 2 {
		return out
	}
	byStage := map[plan.Stage][]*plan.Workload{}
	for i := range d.Workloads {
		w := &d.Workloads[i]
		if w.Hook != plan.HookSyncFail {
			byStage[w.Stage()] = append(byStage[w.Stage()], w)
		}
	}
	blocked := ""
	bare, byKey := barePods(d), observedByKey(obs)
	for _, s := range stages {
		if blocked != "" {
			for _, w := range byStage[s] {
				if !started(w, st) {
					hold(w, blocked)
				}
			}
			continue
		}
		for _, w := range byStage[s] {
			if node, done := waveDone(d, byKey, st, w, bare); !done {
				blocked = fmt.Sprintf("waits for %s: %s %s/%s on %s", s, w.Kind, w.Namespace, w.Name, node)
				break
			}
		}
	}
	return out
}

// started says a workload's change is under way already (its rollout or
// run is at the desired revision): it is never held back.
func started(w *plan.Workload, st State) bool {
	switch w.Kind {
	case "Job":
		r, ok := st.Jobs[w.Key()]
		return ok && r.Revision == w.Revision
	case "CronJob", "Pod":
		return true
	}
	r, ok := st.Rollouts[w.Key()]
	return ok && r.Revision == w.Revision
}

// waveDone says whether w is done on every node that runs it, or names
// the first node where it is not.
func waveDone(d Desired, obs map[string]*nodes.PodStatus, st State, w *plan.Workload, bare map[string][]*plan.Pod) (string, bool) {
	if w.Kind == "CronJob" {
		return "", true // a schedule never finishes
	}
	for _, n := range d.Hosts[w.Key()] {
		if n == d.Node {
			if !localDone(obs, st, w, bare) {
				return n, false
			}
			continue
		}
		p, ok := d.Peers[n]
		pw, told := p.Workloads[w.Key()]
		if !ok || !p.Reachable || !told || pw.Revision != w.Revision || !pw.Done {
			return n, false
		}
	}
	return "", true
}

// barePods indexes this node's bare pods by workload key.
func barePods(d Desired) map[string][]*plan.Pod {
	out := map[string][]*plan.Pod{}
	for i := range d.Pods {
		if p := &d.Pods[i]; p.Owner.Kind == "Pod" {
			k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
			out[k] = append(out[k], p)
		}
	}
	return out
}

// localDone says whether w is done on this node.
func localDone(obs map[string]*nodes.PodStatus, st State, w *plan.Workload, bare map[string][]*plan.Pod) bool {
	switch w.Kind {
	case "Job":
		r, ok := st.Jobs[w.Key()]
		return ok && r.Revision == w.Revision && r.Phase == JobComplete
	case "Pod":
		for _, p := range bare[w.Key()] {
			o := obs[p.Key()]
			if o == nil || o.Hash != p.Hash || !(ready(o) || o.Phase == nodes.PhaseSucceeded) {
				return false
			}
		}
		return true
	}
	r, ok := st.Rollouts[w.Key()]
	return ok && r.Revision == w.Revision && r.Phase == PhaseComplete
}

// holdWorkload keeps what runs of a held workload: no pod starts, none
// stops.
func (v *view) holdWorkload(w *plan.Workload, progress State) {
	key := w.Key()
	for _, o := range v.byOwner[key] {
		v.handled[o.Key()] = true
	}
	if run, ok := progress.Jobs[key]; ok {
		v.markRunPods(w.Namespace, &run)
	}
}

// waveProgress is this node's Jobs and bare pods as the other nodes see
// them (PeerReadiness.Workloads, beside the rollouts): later stages wait
// for them.
func waveProgress(d Desired, obs nodes.NodeState, st State, out map[string]PeerWorkload) {
	var bare map[string][]*plan.Pod
	var byKey map[string]*nodes.PodStatus
	for i := range d.Workloads {
		w := &d.Workloads[i]
		switch w.Kind {
		case "Job":
			if r, ok := st.Jobs[w.Key()]; ok {
				out[w.Key()] = PeerWorkload{Revision: r.Revision, Done: r.Phase == JobComplete}
			}
		case "Pod":
			if bare == nil {
				bare, byKey = barePods(d), observedByKey(obs)
			}
			out[w.Key()] = PeerWorkload{Revision: w.Revision, Done: localDone(byKey, st, w, bare)}
		}
	}
}

// gateReason is the first held workload's reason, for messages.
func gateReason(gates map[string]string) string {
	keys := mapKeys(gates)
	var parts []string
	for _, k := range keys {
		if !strings.HasPrefix(gates[k], "runs only") {
			parts = append(parts, k+" "+gates[k])
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return parts[0]
}
