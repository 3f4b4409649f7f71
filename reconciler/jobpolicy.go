package reconciler

import (
	"fmt"
	"slices"
	"strconv"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// The conditions of a failed pod, as the kubelet leaves them, which a
// podFailurePolicy onPodConditions rule matches: scheduled, initialized
// when its init containers completed, not ready; and DisruptionTarget
// when the pod was taken away rather than failed on its own (berth sees
// it vanish from the runtime: removed behind berth's back, or lost with
// the node), as Kubernetes marks a pod that an eviction or the pod
// garbage collector ends.
func failedPodConditions(o *nodes.PodStatus) map[string]string {
	if o == nil {
		return map[string]string{"PodScheduled": "True", "Initialized": "True", "ContainersReady": "False", "Ready": "False", "DisruptionTarget": "True"}
	}
	initialized := "True"
	for _, c := range o.InitContainers {
		if c.State != nodes.StateTerminated || c.ExitCode != 0 {
			initialized = "False"
		}
	}
	return map[string]string{"PodScheduled": "True", "Initialized": initialized, "ContainersReady": "False", "Ready": "False"}
}

// matchFailure finds the first rule of a pod failure policy that a
// failed pod matches (o is nil for a pod that vanished), as the Job
// controller's matchPodFailurePolicy does, and says why in its words.
// ok is false when no rule matches: the failure counts.
func matchFailure(rules []plan.PodFailureRule, o *nodes.PodStatus, key string) (action, why string, ok bool) {
	for i, r := range rules {
		if e := r.OnExitCodes; e != nil && o != nil {
			if c := matchingContainer(o, e); c != nil {
				return r.Action, fmt.Sprintf("Container %s for pod %s failed with exit code %d matching %s rule at index %d", c.Name, key, c.ExitCode, r.Action, i), true
			}
		}
		if len(r.OnPodConditions) > 0 {
			conds := failedPodConditions(o)
			for _, pat := range r.OnPodConditions {
				if conds[pat.Type] == pat.Status {
					return r.Action, fmt.Sprintf("Pod %s has condition %s matching %s rule at index %d", key, pat.Type, r.Action, i), true
				}
			}
		}
	}
	return "", "", false
}

// matchingContainer is the first container (init containers first) that
// ended with a non-zero exit code the requirement matches.
func matchingContainer(o *nodes.PodStatus, e *plan.ExitCodeRule) *nodes.ContainerStatus {
	for _, cs := range [][]nodes.ContainerStatus{o.InitContainers, o.Containers} {
		for i := range cs {
			c := &cs[i]
			if c.State != nodes.StateTerminated || c.ExitCode == 0 || e.Container != "" && e.Container != c.Name {
				continue
			}
			if in := slices.Contains(e.Values, int32(c.ExitCode)); in == (e.Operator == "In") {
				return c
			}
		}
	}
	return nil
}

// successMet reports whether an Indexed Job's success policy holds, and
// which rule, as the Job controller's matchSuccessPolicy does.
func successMet(rules []plan.SuccessRule, completed indexSet) (string, bool) {
	for i, r := range rules {
		switch {
		case r.Indexes != nil:
			want := int32(0)
			for _, x := range r.Indexes {
				want += x.To - x.From + 1
			}
			got := completed.countIn(r.Indexes)
			if r.Count != nil && got >= *r.Count || r.Count == nil && got == want {
				return "Matched rules at index " + strconv.Itoa(i), true
			}
		case r.Count != nil && completed.count() >= *r.Count:
			return "Matched rules at index " + strconv.Itoa(i), true
		}
	}
	return "", false
}
