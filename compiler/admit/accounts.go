package admit

import (
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/object"
)

// accounts is the mutating part of two admission plugins, for each
// template: ServiceAccount gives a pod that names no image pull secrets
// those of its ServiceAccount; Priority names the global default
// PriorityClass in a pod that names none and writes the class's value
// and preemption policy into the pod. A missing ServiceAccount or class
// is compiler/check's finding; here it changes nothing.
func accounts(set *object.Set, templates []Template) {
	var dflt *api.PriorityClass
	for _, pc := range object.Typed[api.PriorityClass](set, "PriorityClass") {
		if pc.V.GlobalDefault && dflt == nil {
			dflt = pc.V
		}
	}
	for i := range templates {
		s := templates[i].Spec
		if s == nil {
			continue
		}
		if len(s.ImagePullSecrets) == 0 {
			if o := set.Get("ServiceAccount", templates[i].Object.Namespace, s.ServiceAccount()); o != nil {
				s.ImagePullSecrets = o.Value.(*api.ServiceAccount).ImagePullSecrets
			}
		}
		admitPriority(set, s, dflt)
	}
}

// admitPriority resolves a pod's priority as the Priority plugin does.
func admitPriority(set *object.Set, s *api.PodSpec, dflt *api.PriorityClass) {
	value, policy := int32(0), "PreemptLowerPriority"
	switch {
	case s.PriorityClassName == "" && dflt != nil:
		s.PriorityClassName = dflt.Metadata.Name
		value, policy = dflt.Value, dflt.PreemptionPolicy
	case s.PriorityClassName == "":
	default:
		if v, ok := api.SystemPriorityClasses[s.PriorityClassName]; ok {
			value = v
		} else if o := set.Get("PriorityClass", "", s.PriorityClassName); o != nil {
			pc := o.Value.(*api.PriorityClass)
			value, policy = pc.Value, pc.PreemptionPolicy
		} else {
			return
		}
	}
	if policy == "" {
		policy = "PreemptLowerPriority"
	}
	s.Priority, s.PreemptionPolicy = &value, policy
}
