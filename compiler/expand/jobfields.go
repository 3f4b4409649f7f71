package expand

import (
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// notYet refuses the Job fields whose runtime is still being written
// (issue 16): lint checks them as the API server does, and a plan must
// not ignore them on a node meanwhile.
func notYet(o *object.Object, s *api.JobSpec, path string) []diag.Diagnostic {
	var ds []diag.Diagnostic
	no := func(name string, set bool) {
		if set {
			ds = append(ds, o.Diag(diag.Error, "schema", path+"."+name, "valid Kubernetes but not supported by berth yet"))
		}
	}
	no("completionMode", s.CompletionMode == api.IndexedCompletion)
	no("backoffLimitPerIndex", s.BackoffLimitPerIndex != nil)
	no("podFailurePolicy", s.PodFailurePolicy != nil)
	no("successPolicy", s.SuccessPolicy != nil)
	no("suspend", s.Suspend)
	return ds
}
