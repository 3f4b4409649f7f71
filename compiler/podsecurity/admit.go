package podsecurity

import (
	"strings"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// Rule ids of the diagnostics.
const (
	// Rule is a pod template that breaks its namespace's enforce standard
	// (an error) or its warn standard (a warning).
	Rule = "pod-security"
	// RuleAudit is a template that breaks the audit standard: Kubernetes
	// writes it to its audit log, berth reports it as a warning.
	RuleAudit = "pod-security-audit"
	// RuleLabel is an invalid pod-security label on a Namespace.
	RuleLabel = "pod-security-label"
)

// Admit checks the pod-security labels of every Namespace and evaluates
// every pod template against its namespace's policy: the Namespace's
// labels over defaults (the node's --pod-security-default; DefaultPolicy
// in lint). A template that breaks the enforce standard is an error at
// the field at fault, for a Pod and for a controller alike: on
// Kubernetes the controller would be accepted and every pod it creates
// refused, and berth refuses what would never run. Warn and audit
// findings are warnings; as in PSA, a refused template gets no warning.
func Admit(set *object.Set, templates []admit.Template, defaults Policy) []diag.Diagnostic {
	var ds []diag.Diagnostic
	policies := map[string]Policy{}
	for _, ns := range object.Typed[api.Namespace](set, "Namespace") {
		p, errs := PolicyFor(ns.V.Metadata.Labels, defaults)
		policies[ns.V.Metadata.Name] = p
		for _, e := range errs {
			ds = append(ds, labelDiag(ns.Object, e))
		}
	}
	for _, t := range templates {
		if t.Spec == nil {
			continue
		}
		policy, ok := policies[t.Object.Namespace]
		if !ok {
			policy = defaults
		}
		if policy.Enforce.Level == Privileged && policy.Warn.Level == Privileged && policy.Audit.Level == Privileged {
			continue
		}
		pod := NewPod(t.Meta, metaPath(t.Path), t.Spec, t.Path)
		ds = append(ds, evaluate(t.Object, &pod, policy)...)
	}
	return ds
}

// evaluate reports one diagnostic per failed check of each mode.
func evaluate(o *object.Object, pod *Pod, policy Policy) []diag.Diagnostic {
	results := map[LevelVersion][]Result{}
	eval := func(lv LevelVersion) []Result {
		rs, ok := results[lv]
		if !ok {
			rs = Evaluate(lv, pod)
			results[lv] = rs
		}
		return rs
	}
	var ds []diag.Diagnostic
	report := func(sev diag.Severity, rule, verb string, lv LevelVersion, rs []Result) {
		for _, r := range rs {
			ds = append(ds, o.Diag(sev, rule, r.Field, `%s PodSecurity "%s": %s%s`, verb, lv, Message([]Result{r}), pendingNote(r.Field)))
		}
	}
	enforced := eval(policy.Enforce)
	report(diag.Error, Rule, "violates", policy.Enforce, enforced)
	if len(enforced) == 0 {
		report(diag.Warning, Rule, "would violate", policy.Warn, eval(policy.Warn))
	}
	// Audit findings of a refused template, or already shown as warnings,
	// add nothing.
	if len(enforced) == 0 && policy.Audit != policy.Enforce && policy.Audit != policy.Warn {
		report(diag.Warning, RuleAudit, "would violate", policy.Audit, eval(policy.Audit))
	}
	return ds
}

// metaPath is the pod metadata's path beside the PodSpec at specPath:
// "spec" -> "metadata", "spec.template.spec" -> "spec.template.metadata".
func metaPath(specPath string) string {
	if specPath == "spec" {
		return "metadata"
	}
	return strings.TrimSuffix(specPath, ".spec") + ".metadata"
}

// labelDiag reports an invalid label at its value, in the API server's
// wording for the Namespace it refuses.
func labelDiag(o *object.Object, e LabelError) diag.Diagnostic {
	d := o.Diag(diag.Error, RuleLabel, "metadata.labels", "Invalid value: %q: %v", e.Value, e.Err)
	d.Path = "metadata.labels[" + e.Label + "]"
	labels := object.Find(o.Doc.Node, "metadata.labels")
	if labels.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(labels.Content); i += 2 {
			if labels.Content[i].Value == e.Label {
				d.Line, d.Col = labels.Content[i+1].Line, labels.Content[i+1].Column
			}
		}
	}
	return d
}
