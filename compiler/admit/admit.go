// Package admit applies namespace admission at compile time, as the
// Kubernetes admission plugins do at create time: LimitRange defaults and
// bounds, and ResourceQuota totals.
//
// The order is Kubernetes' own: the API server's pod defaulting (a limit
// without a request makes the request equal to the limit), then every
// LimitRange's defaults (the mutating phase), then the validations
// (LimitRange bounds, requests within limits, ResourceQuota).
package admit

import (
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// Rule ids of admission diagnostics.
const (
	RuleLimitRange    = "limit-range"
	RuleResourceQuota = "resource-quota"
	RuleResources     = "resources"
)

// Admit fills the ServiceAccount's pull secrets, the pod's priority and
// the LimitRange defaults into the templates (mutating the specs), then
// checks LimitRange bounds and ResourceQuotas. Diagnostics
// come in a deterministic order: templates in the given order, then quotas
// by namespace and name.
func Admit(set *object.Set, templates []Template) []diag.Diagnostic {
	a := &admission{quantities: map[string]api.Quantity{}, milli: map[string]int64{}, containers: map[*Template][]containerRef{},
		defaults: map[*api.LimitRangeItem]itemDefaults{}}
	limitRanges := map[string][]object.Of[api.LimitRange]{}
	for _, lr := range object.Typed[api.LimitRange](set, "LimitRange") {
		limitRanges[lr.Namespace] = append(limitRanges[lr.Namespace], lr)
	}
	accounts(set, templates)
	var ds []diag.Diagnostic
	for i := range templates {
		t := &templates[i]
		if t.Spec == nil {
			continue
		}
		cs := a.containersOf(t)
		filled := defaultRequestsFromLimits(cs)
		lrs := limitRanges[t.Object.Namespace]
		for _, lr := range lrs {
			a.applyDefaults(cs, lr, filled)
		}
		for _, lr := range lrs {
			ds = append(ds, a.checkLimitRange(t, lr, filled)...)
		}
		ds = append(ds, a.checkRequestsWithinLimits(t, filled)...)
	}
	ds = append(ds, a.checkQuotas(set, templates)...)
	return ds
}

// admission is the state of one Admit call: a cache of parsed
// quantities, since a repository repeats the same few ("100m", "64Mi")
// thousands of times and parsing one is costly.
type admission struct {
	quantities map[string]api.Quantity
	milli      map[string]int64
	containers map[*Template][]containerRef
	defaults   map[*api.LimitRangeItem]itemDefaults
}

// containersOf is containers(t), computed once per template.
func (a *admission) containersOf(t *Template) []containerRef {
	cs, ok := a.containers[t]
	if !ok {
		cs = containers(t)
		a.containers[t] = cs
	}
	return cs
}

func (a *admission) parse(s string) (api.Quantity, error) {
	if q, ok := a.quantities[s]; ok {
		return q, nil
	}
	q, err := api.ParseQuantity(s)
	if err != nil {
		return q, err
	}
	a.quantities[s], a.milli[s] = q, q.MilliValue()
	return q, nil
}

// containerRef is one container of a template with its field path.
type containerRef struct {
	c    *api.Container
	path string // e.g. spec.template.spec.containers[0]
	init bool
}

// containers lists init containers first, then containers, as the
// LimitRanger walks them.
func containers(t *Template) []containerRef {
	var out []containerRef
	for i := range t.Spec.InitContainers {
		out = append(out, containerRef{&t.Spec.InitContainers[i], t.Path + ".initContainers[" + itoa(i) + "]", true})
	}
	for i := range t.Spec.Containers {
		out = append(out, containerRef{&t.Spec.Containers[i], t.Path + ".containers[" + itoa(i) + "]", false})
	}
	return out
}

// filledSet records which container resources admission wrote, so that a
// diagnostic about a value nobody wrote in the file can say where it came
// from.
type filledSet map[filledKey]string

type filledKey struct {
	c         *api.Container
	kind, res string // "requests" or "limits", and the resource
}

// defaultRequestsFromLimits is the API server's pod defaulting: a container
// with a limit and no request gets the limit as its request.
func defaultRequestsFromLimits(cs []containerRef) filledSet {
	filled := filledSet{}
	for _, c := range cs {
		r := &c.c.Resources
		for k, v := range r.Limits {
			if _, ok := r.Requests[k]; ok {
				continue
			}
			if r.Requests == nil {
				r.Requests = map[string]string{}
			}
			r.Requests[k] = v
			filled[filledKey{c.c, "requests", k}] = "defaulted from limits." + k
		}
	}
	return filled
}
