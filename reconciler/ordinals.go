package reconciler

import (
	"sort"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// OrdinalStatus is one ordinal of a StatefulSet that the plan places on
// this node: its pod, what runs of it and at which revision.
type OrdinalStatus struct {
	Ordinal int    `json:"ordinal"`
	Pod     string `json:"pod"`
	// State is the pod's phase (or its reason when it has one: Terminating,
	// ErrImagePull...), "Missing" when no pod of the ordinal runs here.
	State string `json:"state"`
	Ready bool   `json:"ready"`
	// Revision is the revision the running pod has; Current says whether
	// it is the set's desired one (an ordinal below the partition or
	// waiting for its turn keeps an older one).
	Revision string `json:"revision,omitempty"`
	Current  bool   `json:"current"`
}

// ordinals is the status of w's ordinals on this node, by ordinal.
func ordinals(w *plan.Workload, desired []*plan.Pod, obs nodes.NodeState) []OrdinalStatus {
	out := make([]OrdinalStatus, 0, len(desired))
	for _, p := range desired {
		os := OrdinalStatus{Ordinal: ordinalOf(p.Labels), Pod: p.Name, State: "Missing"}
		if o := obs.Pod(p.Key()); o != nil {
			os.State, os.Ready, os.Revision, os.Current = o.Phase, ready(o), o.Revision, o.Hash == p.Hash
			if o.Reason != "" {
				os.State = o.Reason
			}
		}
		out = append(out, os)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ordinal < out[j].Ordinal })
	return out
}
