package reconciler

import (
	"sort"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Status is what `berth status` shows: per workload, its pods and
// progress, and the last events.
type Status struct {
	Node      string           `json:"node"`
	Revision  string           `json:"revision"`
	LastPass  time.Time        `json:"lastPass,omitzero"`
	LastError string           `json:"lastError,omitempty"`
	Workloads []WorkloadStatus `json:"workloads"`
	Events    []Event          `json:"events,omitempty"`
	// Peers is what this node knows of the other nodes (Desired.Peers).
	Peers map[string]PeerReadiness `json:"peers,omitempty"`
}

// WorkloadStatus is one workload on this node.
type WorkloadStatus struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Revision  string `json:"revision,omitempty"`
	Strategy  string `json:"strategy,omitempty"`
	Ready     int    `json:"ready"`
	Total     int    `json:"total"`
	// Rollout progress.
	Phase   string `json:"phase,omitempty"`
	Message string `json:"message,omitempty"`
	Step    int    `json:"step,omitempty"`
	Steps   int    `json:"steps,omitempty"`
	Weight  int32  `json:"weight,omitempty"`
	Stable  string `json:"stable,omitempty"`
	Active  string `json:"active,omitempty"`
	// Jobs.
	Completions int32 `json:"completions,omitempty"`
	Succeeded   int32 `json:"succeeded,omitempty"`
	Failed      int32 `json:"failed,omitempty"`
	// An Indexed Job's indexes that succeeded and failed ("0-2,5").
	CompletedIndexes string `json:"completedIndexes,omitempty"`
	FailedIndexes    string `json:"failedIndexes,omitempty"`
	// Ordinals are a StatefulSet's ordinals on this node.
	Ordinals []OrdinalStatus `json:"ordinals,omitempty"`
	// History is the revisions before this one that the node remembers
	// (revisionHistoryLimit), newest first.
	History []Revision `json:"history,omitempty"`
	// CronJobs and Jobs: spec.suspend holds them.
	Suspended    bool      `json:"suspended,omitempty"`
	ActiveRuns   int       `json:"activeRuns,omitempty"`
	LastSchedule time.Time `json:"lastSchedule,omitzero"`
	NextRun      time.Time `json:"nextRun,omitzero"`
}

// Status returns a snapshot as of the last pass.
func (r *Reconciler) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summarize(r.desired, r.observed, r.state, r.opts.Clock.Now())
	s.LastPass, s.LastError, s.Events = r.lastPass, r.lastErr, r.events.list()
	s.Peers = r.desired.Peers
	return s
}

// Programmed returns the service routes of the last sync, as written to
// the node (nil before the first). The slice is not to be modified.
func (r *Reconciler) Programmed() []nodes.ServiceRoute {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.programmed
}

// Summarize computes the status from plain values.
func Summarize(d Desired, obs nodes.NodeState, st State, now time.Time) Status {
	s := Status{Node: d.Node, Revision: d.Revision, Workloads: []WorkloadStatus{}}
	byOwner := map[string][]*nodes.PodStatus{}
	for i := range obs.Pods {
		p := &obs.Pods[i]
		byOwner[ownerOf(p)] = append(byOwner[ownerOf(p)], p)
	}
	desiredBy := map[string]int{}
	sets := map[string][]*plan.Pod{}
	for i := range d.Pods {
		p := &d.Pods[i]
		k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
		desiredBy[k]++
		if p.Owner.Kind == "StatefulSet" {
			sets[k] = append(sets[k], p)
		}
	}
	gates := Gates(d, obs, st)
	for i := range d.Workloads {
		w := &d.Workloads[i]
		k := w.Key()
		ws := WorkloadStatus{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Revision: w.Revision, Strategy: w.Strategy.Type, Total: desiredBy[k]}
		for _, o := range byOwner[k] {
			if ready(o) && o.Revision == w.Revision {
				ws.Ready++
			}
		}
		if ro, ok := st.Rollouts[k]; ok {
			ws.Phase, ws.Message, ws.Step, ws.Weight, ws.Stable, ws.Active = ro.Phase, ro.Message, ro.Step, ro.Weight, ro.Stable, ro.Active
			if c := w.Strategy.Canary; c != nil {
				ws.Steps = len(c.Steps)
			}
		}
		ws.History = st.History[k].Old
		if w.Kind == "StatefulSet" {
			ws.Ordinals = ordinals(w, sets[k], obs)
		}
		if j, ok := st.Jobs[k]; ok && w.Job != nil {
			ws.Phase, ws.Message, ws.Completions, ws.Succeeded, ws.Failed = j.Phase, j.Reason, max(w.Job.Completions, 1), j.Succeeded, j.Failed
			if j.Message != "" {
				ws.Message += ": " + j.Message
			}
			ws.CompletedIndexes, ws.FailedIndexes, ws.Suspended = j.CompletedIndexes, j.FailedIndexes, j.Suspended
			ws.Total = int(ws.Completions)
		}
		if c := w.CronJob; c != nil {
			ws.Suspended = c.Suspend
			cs := st.Crons[k]
			ws.LastSchedule = cs.LastSchedule
			for _, run := range cs.Runs {
				if run.Phase == JobRunning {
					ws.ActiveRuns++
				}
			}
			if sch, err := ParseSchedule(c.Schedule, c.TimeZone); err != nil {
				ws.Message = err.Error()
			} else if !c.Suspend {
				ws.NextRun = sch.Next(now)
			}
		}
		if why := gates[k]; why != "" {
			ws.Phase, ws.Message = PhaseWaiting, why
		}
		s.Workloads = append(s.Workloads, ws)
	}
	// Pods without a workload entry (bare pods) are listed by their owner.
	listed := map[string]bool{}
	for i := range d.Workloads {
		listed[d.Workloads[i].Key()] = true
	}
	bare := map[string]*WorkloadStatus{}
	for i := range d.Pods {
		p := &d.Pods[i]
		k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
		if listed[k] {
			continue
		}
		ws := bare[k]
		if ws == nil {
			ws = &WorkloadStatus{Kind: p.Owner.Kind, Namespace: p.Namespace, Name: p.Owner.Name}
			bare[k] = ws
		}
		ws.Total++
		if o := obs.Pod(p.Key()); o != nil && o.Hash == p.Hash && ready(o) {
			ws.Ready++
		}
	}
	for _, k := range mapKeys(bare) {
		s.Workloads = append(s.Workloads, *bare[k])
	}
	sort.Slice(s.Workloads, func(i, j int) bool {
		a, b := s.Workloads[i], s.Workloads[j]
		return a.Kind+"/"+a.Namespace+"/"+a.Name < b.Kind+"/"+b.Namespace+"/"+b.Name
	})
	return s
}
