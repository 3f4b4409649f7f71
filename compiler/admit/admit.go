// Package admit applies namespace admission at compile time, as the
// Kubernetes admission plugins do at create time: LimitRange defaults and
// bounds, and ResourceQuota totals.
package admit

import (
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// Template is one pod template and the number of pods it yields at most
// (replicas plus a rolling update's surge; one per matching node for a
// DaemonSet; parallelism for a Job).
type Template struct {
	Object *object.Object
	// Path is the path to the PodSpec within Object, e.g. "spec.template.spec".
	Path  string
	Spec  *api.PodSpec
	Count int
}

// Templates lists the pod templates of every workload in set, in set order.
func Templates(set *object.Set) []Template {
	return nil
}

// Admit fills LimitRange defaults into the templates' containers (mutating
// the specs), then checks LimitRange bounds and ResourceQuotas.
func Admit(set *object.Set, templates []Template) []diag.Diagnostic {
	return nil
}
