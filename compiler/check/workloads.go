package check

import (
	"slices"
	"strconv"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/selector"
)

// controlled is a controller's selector and the labels of its template.
type controlled struct {
	sel          *api.LabelSelector
	selPath      string
	labels       map[string]string
	labelsPath   string
	emptyAllowed bool // a Job may leave its selector to be generated
}

func controllerOf(o *object.Object) (controlled, bool) {
	switch v := o.Value.(type) {
	case *api.Deployment:
		return controlled{v.Spec.Selector, "spec.selector", v.Spec.Template.Metadata.Labels, "spec.template.metadata.labels", false}, true
	case *api.ReplicaSet:
		return controlled{v.Spec.Selector, "spec.selector", v.Spec.Template.Metadata.Labels, "spec.template.metadata.labels", false}, true
	case *api.DaemonSet:
		return controlled{v.Spec.Selector, "spec.selector", v.Spec.Template.Metadata.Labels, "spec.template.metadata.labels", false}, true
	case *api.StatefulSet:
		return controlled{v.Spec.Selector, "spec.selector", v.Spec.Template.Metadata.Labels, "spec.template.metadata.labels", false}, true
	case *api.Rollout:
		return controlled{v.Spec.Selector, "spec.selector", v.Spec.Template.Metadata.Labels, "spec.template.metadata.labels", false}, true
	case *api.Job:
		// Only a manual selector is the user's to get right: without
		// manualSelector: true the API server generates it (and refuses one
		// written, which is compiler/validate's finding).
		if v.Spec.ManualSelector == nil || !*v.Spec.ManualSelector {
			return controlled{}, false
		}
		return controlled{v.Spec.Selector, "spec.selector", v.Spec.Template.Metadata.Labels, "spec.template.metadata.labels", true}, true
	}
	return controlled{}, false
}

// checkSelectors reports controllers whose selector does not select their
// own pod template: Kubernetes refuses them ("selector does not match
// template labels").
func checkSelectors(set *object.Set, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for _, o := range set.All() {
		c, ok := controllerOf(o)
		if !ok || c.sel == nil || opts.Rejected.Has(o.Kind, o.Namespace, o.Name) {
			// A missing required selector is the schema's finding; a Job
			// without one gets a generated selector; a rejected object's
			// selector is already reported.
			continue
		}
		sel, err := selector.FromLabelSelector(c.sel)
		if err != nil {
			ds = append(ds, o.Diag(diag.Error, RuleSelectorMismatch, c.selPath, "invalid selector: %v", err))
			continue
		}
		if sel.Empty() && !c.emptyAllowed {
			ds = append(ds, o.Diag(diag.Error, RuleSelectorMismatch, c.selPath,
				"the selector is empty and would select every pod in namespace %s: add matchLabels that match %s", o.Namespace, c.labelsPath))
			continue
		}
		if !sel.Matches(c.labels) {
			ds = append(ds, o.Diag(diag.Error, RuleSelectorMismatch, c.selPath,
				"selector %s does not match the pod template's labels (%s): make %s match the selector", sel, labelString(c.labels), c.labelsPath))
		}
	}
	return ds
}

// labelString renders labels as k=v pairs in key order, or "none".
func labelString(labels map[string]string) string {
	if len(labels) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += k + "=" + labels[k]
	}
	return s
}

// checkRolloutServices reports a Rollout naming a Service that does not
// exist in its namespace, and blue/green with one Service in both roles.
func checkRolloutServices(set *object.Set, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for _, r := range object.Typed[api.Rollout](set, "Rollout") {
		type serviceRef struct{ name, path string }
		var refs []serviceRef
		if bg := r.V.Spec.Strategy.BlueGreen; bg != nil {
			refs = append(refs, serviceRef{bg.ActiveService, "spec.strategy.blueGreen.activeService"},
				serviceRef{bg.PreviewService, "spec.strategy.blueGreen.previewService"})
			if bg.PreviewService != "" && bg.PreviewService == bg.ActiveService {
				ds = append(ds, r.Diag(diag.Error, RuleRolloutService, "spec.strategy.blueGreen.previewService",
					"previewService and activeService are both %q: the preview needs its own Service so the new revision can be tested before promotion", bg.ActiveService))
			}
		}
		if c := r.V.Spec.Strategy.Canary; c != nil {
			refs = append(refs, serviceRef{c.StableService, "spec.strategy.canary.stableService"},
				serviceRef{c.CanaryService, "spec.strategy.canary.canaryService"})
			if c.CanaryService != "" && c.CanaryService == c.StableService {
				ds = append(ds, r.Diag(diag.Error, RuleRolloutService, "spec.strategy.canary.canaryService",
					"canaryService and stableService are both %q: give the canary its own Service", c.StableService))
			}
		}
		for _, ref := range refs {
			if ref.name == "" || set.Get("Service", r.Namespace, ref.name) != nil {
				continue
			}
			if d, ok := missing(r.Object, opts, "Service", ref.name, ref.path,
				"Service %q does not exist in namespace %s: add it to the repository (selecting the Rollout's pods) or fix the name", ref.name, r.Namespace); ok {
				ds = append(ds, d)
			}
		}
	}
	return ds
}

func itoa(i int) string { return strconv.Itoa(i) }
