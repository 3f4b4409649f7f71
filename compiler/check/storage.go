package check

import (
	"fmt"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// checkClaims binds the PersistentVolumeClaims to the PersistentVolumes
// with the plan's own binder (address.Bind) and reports its findings: a
// claim that stays pending is valid Kubernetes (a warning), a pod that
// mounts one cannot be planned by berth, which provisions no volumes (an
// error, the plan's too).
func checkClaims(set *object.Set, pods []pod, opts Options) []diag.Diagnostic {
	if opts.Rejected.hasKind("PersistentVolume") || opts.Rejected.hasKind("PersistentVolumeClaim") {
		// Which claim a rejected volume would hold is unknown: its own
		// error comes first.
		return nil
	}
	bound, ds := address.Bind(set)
	for _, p := range pods {
		for k, v := range p.spec.Volumes {
			pvc := v.PersistentVolumeClaim
			if pvc == nil || pvc.ClaimName == "" || set.Get("PersistentVolumeClaim", p.obj.Namespace, pvc.ClaimName) == nil {
				continue // a missing claim is a missing reference
			}
			if _, ok := bound[p.obj.Namespace+"/"+pvc.ClaimName]; ok {
				continue
			}
			sev, what := diag.Error, "berth cannot plan a pod whose claim stays pending (Kubernetes would keep it Pending): bind the claim to a PersistentVolume of the repository"
			if opts.Standalone {
				sev, what = diag.Warning, "--standalone assumes its PersistentVolume is made elsewhere"
			}
			ds = append(ds, p.obj.Diag(sev, RuleUnboundClaim, fmt.Sprintf("%s.volumes[%d].persistentVolumeClaim.claimName", p.path, k),
				"PersistentVolumeClaim %q is not bound to any PersistentVolume: %s", pvc.ClaimName, what))
		}
	}
	return ds
}
