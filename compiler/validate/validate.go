// Package validate is the API server's validation of one object: the
// rules that relate several fields of an object (a Secret's keys by its
// type, maxSurge and maxUnavailable, two mounts on one path), ported from
// k8s.io/kubernetes pkg/apis/core/validation, apps/validation and
// batch/validation with their messages. Field formats (names, labels,
// quantities) are the schema's, checked by apimachinery; rules across
// objects (references, selectors, admission) are compiler/check's.
//
// Each rule is written as upstream writes it, with
// k8s.io/apimachinery/pkg/util/validation/field: a field.Path and a
// field.Error (Invalid, Required, Duplicate, NotSupported, Forbidden,
// TooLong), whose ErrorBody is the message. Object turns them into
// diagnostics at the file:line:col of the path. To add a rule for a new
// field, port the upstream function into the file of its kind and call it
// from that kind's validator below.
package validate

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// Rule is the rule id of the API server's object validation.
const Rule = "validation"

// Object validates one decoded object as the API server would on create
// and returns its findings, in the order upstream reports them.
func Object(o *object.Object) []diag.Diagnostic {
	var errs field.ErrorList
	switch v := o.Value.(type) {
	case *api.Pod:
		errs = pod(v)
	case *api.Deployment:
		errs = deployment(v)
	case *api.ReplicaSet:
		errs = replicaSet(v)
	case *api.ReplicationController:
		errs = replicationController(v)
	case *api.NetworkPolicy:
		errs = networkPolicy(v)
	case *api.PodDisruptionBudget:
		errs = podDisruptionBudget(v)
	case *api.DaemonSet:
		errs = daemonSet(v)
	case *api.StatefulSet:
		errs = statefulSet(v)
	case *api.Rollout:
		errs = rollout(v)
	case *api.Job:
		errs = job(v)
	case *api.CronJob:
		errs = cronJob(v)
	case *api.Service:
		errs = service(v)
	case *api.ConfigMap:
		errs = configMap(v)
	case *api.Secret:
		errs = secret(v)
	case *api.LimitRange:
		errs = limitRange(v)
	case *api.ResourceQuota:
		errs = resourceQuota(v)
	case *api.PersistentVolume:
		errs = persistentVolume(v)
	case *api.PersistentVolumeClaim:
		errs = persistentVolumeClaim(v)
	case *api.ServiceAccount:
		errs = serviceAccount(v)
	case *api.Role:
		errs = role(v)
	case *api.ClusterRole:
		errs = clusterRole(v)
	case *api.RoleBinding:
		errs = roleBinding(v)
	case *api.ClusterRoleBinding:
		errs = clusterRoleBinding(v)
	case *api.PriorityClass:
		errs = priorityClass(v)
	case *api.Namespace:
		errs = objectMeta(&v.Metadata, metaPath)
	case *api.Node:
		errs = node(v)
	}
	if len(errs) == 0 {
		return nil
	}
	out := make([]diag.Diagnostic, 0, len(errs))
	for _, e := range errs {
		out = append(out, toDiag(o, e))
	}
	return out
}

// toDiag places a field error at the value its path names (the nearest
// written ancestor when the field is missing). A warning is marked by the
// origin "warning" (field errors have no severity).
func toDiag(o *object.Object, e *field.Error) diag.Diagnostic {
	sev := diag.Error
	if e.Origin == originWarning {
		sev = diag.Warning
	}
	path := e.Field
	if path == "[]" {
		path = "" // field.NewPath(""): the object as a whole
	}
	return o.Diag(sev, Rule, path, "%s", e.ErrorBody())
}

// originWarning marks a finding that the API server accepts but berth
// must not let pass silently (a Secret type berth cannot fill in).
const originWarning = "warning"

var (
	metaPath = field.NewPath("metadata")
	specPath = field.NewPath("spec")
)

// maxAnnotationsSize is apimachinery's TotalAnnotationSizeLimitB.
const maxAnnotationsSize = 256 << 10

// objectMeta is the part of ValidateObjectMeta that the schema cannot
// check: the total size of the annotations (their keys are the
// schema's).
func objectMeta(m *api.ObjectMeta, path *field.Path) field.ErrorList {
	return annotationsSize(m.Annotations, path.Child("annotations"))
}

func annotationsSize(annotations map[string]string, path *field.Path) field.ErrorList {
	total := 0
	for k, v := range annotations {
		total += len(k) + len(v)
	}
	if total > maxAnnotationsSize {
		return field.ErrorList{field.TooLong(path, "", maxAnnotationsSize)}
	}
	return nil
}

// labelSelector is the part of ValidateLabelSelector the schema cannot
// check: values by operator.
func labelSelector(s *api.LabelSelector, path *field.Path) field.ErrorList {
	if s == nil {
		return nil
	}
	return requirements(s.MatchExpressions, path.Child("matchExpressions"))
}

// requirements applies ValidateLabelSelectorRequirement (and, for a node
// selector term, ValidateNodeSelectorRequirement: the same rules) to each
// requirement.
func requirements(reqs []api.LabelSelectorRequirement, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range reqs {
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(path.Index(i).Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) > 0 {
				errs = append(errs, field.Forbidden(path.Index(i).Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		}
	}
	return errs
}

// selectorValue renders a selector as the API server does in a message:
// {"matchLabels":{"app":"web"}}.
func selectorValue(s *api.LabelSelector) any {
	type req struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values,omitempty"`
	}
	out := struct {
		MatchLabels      map[string]string `json:"matchLabels,omitempty"`
		MatchExpressions []req             `json:"matchExpressions,omitempty"`
	}{MatchLabels: s.MatchLabels}
	for _, r := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, req{r.Key, r.Operator, r.Values})
	}
	return out
}

// intOrStringValue is an int-or-string as a field error shows it: 0 or
// "25%".
func intOrStringValue(v api.IntOrString) any {
	if v.IsString {
		return v.StrVal
	}
	return int64(v.IntVal)
}

// intOrPercentValue is apps validation's getIntOrPercentValue.
func intOrPercentValue(v *api.IntOrString) int {
	if v == nil {
		return 0
	}
	if n, ok := v.Percent(); ok {
		return n
	}
	if v.IsString {
		return 0
	}
	return int(v.IntVal)
}

// notMoreThan100Percent is apps validation's IsNotMoreThan100Percent.
func notMoreThan100Percent(v *api.IntOrString, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if n, ok := v.Percent(); ok && n > 100 {
		return field.ErrorList{field.Invalid(path, intOrStringValue(*v), "must not be greater than 100%")}
	}
	return nil
}
