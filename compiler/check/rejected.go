package check

import (
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/selector"
)

// Rejected records the objects refused by the schema or by their own
// validation, whose mistake is already reported: the checks do not report
// what merely follows from it (one mistake, one error). A broken
// Deployment does not also make its Service "select no pod template", and
// a ConfigMap with a bad key does not also make its users "refer to a
// missing ConfigMap".
type Rejected struct {
	ids map[rejectedKey]bool
	// templates are the pod-template labels of the rejected workloads, by
	// namespace, as written; a nil map when they could not be read.
	templates map[string][]map[string]string
	kinds     map[string]bool
}

type rejectedKey struct{ kind, namespace, name string }

// NewRejected returns an empty record.
func NewRejected() *Rejected {
	return &Rejected{ids: map[rejectedKey]bool{}, templates: map[string][]map[string]string{}, kinds: map[string]bool{}}
}

// Add records a rejected object. For a workload, labels are its pod
// template's labels as written, and known says whether they could be
// read (a rejected document may be malformed anywhere).
func (r *Rejected) Add(kind, namespace, name string, labels map[string]string, known bool) {
	if object.ClusterScoped(kind) {
		namespace = ""
	} else if namespace == "" {
		namespace = "default"
	}
	r.ids[rejectedKey{kind, namespace, name}] = true
	r.kinds[kind] = true
	if WorkloadKind(kind) {
		if !known {
			labels = nil
		} else if labels == nil {
			labels = map[string]string{}
		}
		r.templates[namespace] = append(r.templates[namespace], labels)
	}
}

// Has reports whether the object kind namespace/name was rejected.
func (r *Rejected) Has(kind, namespace, name string) bool {
	return r != nil && r.ids[rejectedKey{kind, namespace, name}]
}

// hasKind reports whether an object of kind was rejected.
func (r *Rejected) hasKind(kind string) bool { return r != nil && r.kinds[kind] }

// Admissible is set without the rejected LimitRanges and
// ResourceQuotas, for admission: their own errors are reported, their
// effects would not be the user's intent.
func (r *Rejected) Admissible(set *object.Set) *object.Set {
	if !r.hasKind("LimitRange") && !r.hasKind("ResourceQuota") {
		return set
	}
	var keep []*object.Object
	for _, o := range set.All() {
		if (o.Kind == "LimitRange" || o.Kind == "ResourceQuota") && r.Has(o.Kind, o.Namespace, o.Name) {
			continue
		}
		keep = append(keep, o)
	}
	return object.NewSet(keep)
}

// mayMatch reports whether a rejected workload of namespace may be what
// sel selects: its labels match, or could not be read.
func (r *Rejected) mayMatch(namespace string, sel selector.Selector) bool {
	if r == nil {
		return false
	}
	for _, labels := range r.templates[namespace] {
		if labels == nil || sel.Matches(labels) {
			return true
		}
	}
	return false
}

// WorkloadKind reports whether kind has a pod template.
func WorkloadKind(kind string) bool {
	switch kind {
	case "Pod", "Deployment", "ReplicaSet", "ReplicationController", "DaemonSet", "StatefulSet", "Job", "CronJob", "Rollout":
		return true
	}
	return false
}

// TemplateLabelsPath is the path of the pod template's labels of a
// workload kind, for reading them from a document that did not decode.
func TemplateLabelsPath(kind string) string {
	switch kind {
	case "Pod":
		return "metadata.labels"
	case "CronJob":
		return "spec.jobTemplate.spec.template.metadata.labels"
	}
	return "spec.template.metadata.labels"
}
