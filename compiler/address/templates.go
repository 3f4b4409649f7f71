package address

import (
	"strconv"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// LocalClass is the StorageClass of berth's local provisioner, the
// default class of a StatefulSet's claim templates: like k3s's
// local-path, it backs a claim with a directory on the pod's node.
// (Kubernetes names classes as DNS subdomains, so the provisioner's name
// berth.dev/local cannot be the class's.)
const LocalClass = "berth-local"

// bindTemplates binds the claim of every ordinal of every StatefulSet's
// volumeClaimTemplates (TEMPLATE-SET-ORDINAL), in set order, after the
// declared claims: a claim of that name in the repository is used as it
// is (the StatefulSet controller adopts an existing claim); else a free
// declared volume that fits, else berth's local provisioner when the
// template's class is berth-local or unset (the default class).
func bindTemplates(set *object.Set, bindAny func(key string, c *api.PersistentVolumeClaim, report func(at, format string, args ...any))) []diag.Diagnostic {
	var diags []diag.Diagnostic
	for _, s := range object.Typed[api.StatefulSet](set, "StatefulSet") {
		start, n := s.V.Spec.Span()
		for ti := range s.V.Spec.VolumeClaimTemplates {
			t := &s.V.Spec.VolumeClaimTemplates[ti]
			path := "spec.volumeClaimTemplates[" + strconv.Itoa(ti) + "]"
			if t.Spec.VolumeName != "" {
				diags = append(diags, s.Diag(diag.Error, "unsupported", path+".spec.volumeName",
					"volumeName in a claim template is not supported by berth (every ordinal would claim the same volume): declare a claim per ordinal (%s) instead", api.ClaimName(t.Metadata.Name, s.Name, start)))
				continue
			}
			c := *t
			if c.Spec.StorageClassName == nil {
				class := LocalClass
				c.Spec.StorageClassName = &class
			}
			reported := false
			for i := start; i < start+n; i++ {
				name := api.ClaimName(t.Metadata.Name, s.Name, i)
				if set.Get("PersistentVolumeClaim", s.Namespace, name) != nil {
					continue
				}
				bindAny(s.Namespace+"/"+name, &c, func(at, format string, args ...any) {
					if !reported { // one finding per template, not per ordinal
						reported = true
						diags = append(diags, s.Diag(diag.Warning, RuleBinding, path+"."+at, "claim %s: "+format, append([]any{name}, args...)...))
					}
				})
			}
		}
	}
	return diags
}
