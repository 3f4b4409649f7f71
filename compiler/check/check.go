// Package check runs the semantic checks that a schema cannot express:
// cross-object references, selectors, ports, names, and Pod Security.
// Admission (compiler/admit) is the front end's next stage; the checks
// see the templates as written.
//
// Every finding is a diag.Diagnostic built by Object.Diag, so it carries
// the file:line:col of the offending value, a stable rule id and a message
// that says what to do.
package check

import (
	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/podsecurity"
	"berth.dev/berth/compiler/wave"
)

// Rule ids of the checks in this package (admission's are in admit).
const (
	RuleSelectorMismatch    = "selector-mismatch"
	RuleServiceSelector     = "service-selector"
	RuleTargetPort          = "target-port"
	RuleMissingReference    = "missing-reference"
	RuleDuplicateName       = "duplicate-name"
	RuleDuplicateEnv        = "duplicate-env"
	RuleDuplicatePort       = "duplicate-port"
	RuleNodePort            = "node-port"
	RuleImageTag            = "image-tag"
	RuleProbePort           = "probe-port"
	RuleUndeclaredNamespace = "undeclared-namespace"
	RuleUnboundClaim        = "unbound-claim"
	// RuleBinding is the rule of the binder's findings on claims.
	RuleBinding        = address.RuleBinding
	RuleRolloutService = "rollout-service"
	RulePullSecret     = "pull-secret"
	RuleVolumeMount    = "volume-mount"
)

// Options tune the checks.
type Options struct {
	// PodSecurity is the Pod Security policy of a namespace without
	// pod-security labels (the node's --pod-security-default); nil is
	// Kubernetes' default, privileged.
	PodSecurity *podsecurity.Policy
	// Standalone checks files taken alone (berth lint --standalone): a
	// reference to a ConfigMap, Secret, PersistentVolumeClaim, Service or
	// Namespace that none of them holds is assumed to be made elsewhere,
	// a warning that names it instead of an error.
	Standalone bool
	// Rejected are the objects already refused by the schema or their
	// own validation; nil for none.
	Rejected *Rejected
	// Templates are the pod templates of the set (admit.Templates), when
	// the caller has them; nil lists them.
	Templates []admit.Template
}

// Run checks every object of one revision and returns the findings in a
// deterministic order (diag.Sort orders them for output). It does not
// modify the set.
func Run(set *object.Set, opts Options) []diag.Diagnostic {
	templates := opts.Templates
	if templates == nil {
		templates = admit.Templates(set)
	}
	pods := podsOf(templates)
	var ds []diag.Diagnostic
	ds = append(ds, checkNamespaces(set, opts)...)
	ds = append(ds, checkSelectors(set, opts)...)
	ds = append(ds, checkServices(set, pods, opts)...)
	for _, p := range pods {
		ds = append(ds, checkPodSpec(set, p, opts)...)
	}
	ds = append(ds, checkRolloutServices(set, opts)...)
	ds = append(ds, checkAccounts(set, pods, opts)...)
	ds = append(ds, checkClaims(set, pods, opts)...)
	ds = append(ds, wave.Check(set)...)
	defaults := podsecurity.DefaultPolicy
	if opts.PodSecurity != nil {
		defaults = *opts.PodSecurity
	}
	ds = append(ds, podsecurity.Admit(set, templates, defaults)...)
	return ds
}

// missing reports a reference to an object the repository does not
// hold: an error, or a warning when the files are checked standalone;
// nothing when the object is there but was rejected (its own error says
// what is wrong with it).
func missing(o *object.Object, opts Options, kind, name, path, format string, args ...any) (diag.Diagnostic, bool) {
	ns := o.Namespace
	if object.ClusterScoped(kind) {
		ns = ""
	}
	if opts.Rejected.Has(kind, ns, name) {
		return diag.Diagnostic{}, false
	}
	if opts.Standalone {
		return o.Diag(diag.Warning, RuleMissingReference, path,
			"%s %q is not in the files checked; --standalone assumes it is made elsewhere", kind, name), true
	}
	return o.Diag(diag.Error, RuleMissingReference, path, format, args...), true
}

// pod is one pod template with the path of its spec and its labels.
type pod struct {
	obj    *object.Object
	spec   *api.PodSpec
	path   string // path of the PodSpec
	labels map[string]string
}

func podsOf(templates []admit.Template) []pod {
	out := make([]pod, 0, len(templates))
	for _, t := range templates {
		out = append(out, pod{obj: t.Object, spec: t.Spec, path: t.Path, labels: TemplateLabels(t.Object)})
	}
	return out
}

// TemplateLabels are the labels of a workload's pod template (a Pod's
// own), nil for another kind.
func TemplateLabels(o *object.Object) map[string]string {
	switch v := o.Value.(type) {
	case *api.Pod:
		return v.Metadata.Labels
	case *api.Deployment:
		return v.Spec.Template.Metadata.Labels
	case *api.ReplicaSet:
		return v.Spec.Template.Metadata.Labels
	case *api.ReplicationController:
		return v.Spec.Template.Metadata.Labels
	case *api.DaemonSet:
		return v.Spec.Template.Metadata.Labels
	case *api.StatefulSet:
		return v.Spec.Template.Metadata.Labels
	case *api.Rollout:
		return v.Spec.Template.Metadata.Labels
	case *api.Job:
		return v.Spec.Template.Metadata.Labels
	case *api.CronJob:
		return v.Spec.JobTemplate.Spec.Template.Metadata.Labels
	}
	return nil
}

// containerRef is one container of a pod with its path.
type containerRef struct {
	c    *api.Container
	path string
}

// containers lists init containers, then containers.
func (p pod) containers() []containerRef {
	out := make([]containerRef, 0, len(p.spec.InitContainers)+len(p.spec.Containers))
	for i := range p.spec.InitContainers {
		out = append(out, containerRef{&p.spec.InitContainers[i], p.path + ".initContainers[" + itoa(i) + "]"})
	}
	for i := range p.spec.Containers {
		out = append(out, containerRef{&p.spec.Containers[i], p.path + ".containers[" + itoa(i) + "]"})
	}
	return out
}

// Describe returns a one-sentence description of a rule that Run reports
// (admission's included), for reports that list their rules (SARIF), or
// "" for a rule of another package.
func Describe(rule string) string {
	switch rule {
	case RuleSelectorMismatch:
		return "A controller's selector does not select its own pod template."
	case RuleServiceSelector:
		return "A Service's selector matches no pod template, so it has no endpoints."
	case RuleTargetPort:
		return "A Service's named targetPort is not declared by any selected container."
	case RuleMissingReference:
		return "A reference to a ConfigMap, Secret, key, claim, Service, volume, ServiceAccount or PriorityClass that is not in the repository."
	case RuleDuplicateName:
		return "Two containers or two volumes of a pod share a name."
	case RuleDuplicateEnv:
		return "A container sets one environment variable twice."
	case RuleDuplicatePort:
		return "A container declares one port, or one port name, twice."
	case RuleNodePort:
		return "A nodePort outside 30000-32767, used twice, or set on a ClusterIP Service."
	case RuleImageTag:
		return "An image without a tag or tagged latest."
	case RuleProbePort:
		return "A probe aims at a port the container does not expose."
	case RuleUndeclaredNamespace:
		return "An object in a namespace that no Namespace object declares."
	case RuleUnboundClaim:
		return "A pod mounts a PersistentVolumeClaim that no PersistentVolume of the repository can satisfy."
	case RuleBinding:
		return "A PersistentVolumeClaim that no PersistentVolume of the repository can satisfy stays pending."
	case RuleRolloutService:
		return "A Rollout uses one Service in two roles."
	case RulePullSecret:
		return "An imagePullSecrets entry names a Secret berth cannot pull images with."
	case RuleNoEffect:
		return "Objects berth checks and does not act on (ServiceAccounts, RBAC, PriorityClasses), noted once per repository."
	case RulePriority:
		return "A pod's priority or preemptionPolicy differs from its PriorityClass's, or two PriorityClasses are the global default."
	case admit.RuleLimitRange:
		return "A container or pod outside a LimitRange's min, max or maxLimitRequestRatio."
	case admit.RuleResourceQuota:
		return "A namespace's pods or objects exceed a ResourceQuota, or a container lacks a resource it constrains."
	case admit.RuleResources:
		return "A container's request is above its limit."
	case podsecurity.Rule:
		return "A pod template breaks its namespace's enforce (error) or warn (warning) Pod Security Standard."
	case podsecurity.RuleAudit:
		return "A pod template breaks its namespace's audit Pod Security Standard."
	case podsecurity.RuleLabel:
		return "A Namespace's pod-security.kubernetes.io label has an invalid level or version."
	}
	return ""
}
