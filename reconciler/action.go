package reconciler

import (
	"cmp"
	"slices"
	"time"

	"berth.dev/berth/compiler/plan"
)

// ActionKind says what an action does; kinds run in this order.
type ActionKind int

// Action kinds, in execution order: progress is recorded first (write
// ahead), pods leave before new ones come, so a surge never exceeds its
// bound and a same-name replacement finds its name free.
const (
	ActRecord ActionKind = iota
	ActRemove
	ActStop
	ActUpdateConfig
	ActCreate
	// ActDeleteClaim deletes a claim's data once its pod is gone
	// (a StatefulSet's persistentVolumeClaimRetentionPolicy).
	ActDeleteClaim
)

var kindNames = [...]string{"record", "remove", "stop", "update-config", "create", "delete-claim"}

// String is the action's verb.
func (k ActionKind) String() string { return kindNames[k] }

// MarshalText writes the verb.
func (k ActionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Action is one step the executor takes.
type Action struct {
	Kind ActionKind `json:"kind"`
	// Key is the pod's namespace/name, bucket/key for a record, or the
	// claim's namespace/name.
	Key string `json:"key"`
	// Object is the workload the action serves (kind/namespace/name).
	Object string `json:"object,omitempty"`
	Reason string `json:"reason"`
	// Pod is the pod to create or whose config to update.
	Pod *plan.Pod `json:"pod,omitempty"`
	// Hash is, for remove and stop, the hash of the pod the decision saw:
	// the executor skips the action when the live pod differs.
	Hash string `json:"hash,omitempty"`
	// Record is the progress to write (nil Value deletes).
	Record *Record `json:"record,omitempty"`
	// Deadline is, for remove and stop, when the pod's grace period ends
	// (recorded with the stop, so a restart does not start a new one).
	Deadline time.Time `json:"deadline,omitzero"`
	// Holder is, for delete-claim, the pod that must be gone first.
	Holder string `json:"holder,omitempty"`
}

// Record is a progress value for the store: a Rollout, JobRun or CronRuns.
type Record struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Value  any    `json:"value"`
}

func sortActions(as []Action) {
	slices.SortStableFunc(as, func(a, b Action) int {
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
}
