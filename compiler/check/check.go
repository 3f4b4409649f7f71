// Package check runs the semantic checks that a schema cannot express:
// cross-object references, selectors, ports, names, and admission.
//
// Every finding is a diag.Diagnostic built by Object.Diag, so it carries
// the file:line:col of the offending value, a stable rule id and a message
// that says what to do.
package check

import (
	"strings"

	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
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
	RuleRolloutService      = "rollout-service"
)

// Options tune the checks.
type Options struct{}

// Run checks every object of one revision and returns the findings in a
// deterministic order (diag.Sort orders them for output). It does not
// modify the set: admission runs on copies of the pod templates.
func Run(set *object.Set, opts Options) []diag.Diagnostic {
	templates := admit.Templates(set)
	pods := podsOf(templates)
	var ds []diag.Diagnostic
	ds = append(ds, checkNamespaces(set)...)
	ds = append(ds, checkSelectors(set)...)
	ds = append(ds, checkServices(set, pods)...)
	for _, p := range pods {
		ds = append(ds, checkPodSpec(set, p)...)
	}
	ds = append(ds, checkRolloutServices(set)...)
	ds = append(ds, checkClaims(set)...)
	ds = append(ds, admit.Admit(set, admit.Copy(templates))...)
	return ds
}

// pod is one pod template with the paths of its spec and labels.
type pod struct {
	obj        *object.Object
	spec       *api.PodSpec
	path       string // path of the PodSpec
	labels     map[string]string
	labelsPath string
}

func podsOf(templates []admit.Template) []pod {
	out := make([]pod, 0, len(templates))
	for _, t := range templates {
		p := pod{obj: t.Object, spec: t.Spec, path: t.Path}
		// The labels sit beside the spec: metadata.labels of a Pod,
		// spec.template.metadata.labels of a controller.
		meta := strings.TrimSuffix(strings.TrimSuffix(t.Path, "spec"), ".")
		if meta == "" {
			p.labelsPath = "metadata.labels"
		} else {
			p.labelsPath = meta + ".metadata.labels"
		}
		p.labels = templateLabels(t.Object)
		out = append(out, p)
	}
	return out
}

func templateLabels(o *object.Object) map[string]string {
	switch v := o.Value.(type) {
	case *api.Pod:
		return v.Metadata.Labels
	case *api.Deployment:
		return v.Spec.Template.Metadata.Labels
	case *api.ReplicaSet:
		return v.Spec.Template.Metadata.Labels
	case *api.DaemonSet:
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
