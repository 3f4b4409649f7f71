// Package admit applies namespace admission at compile time, as the
// Kubernetes admission plugins do at create time: LimitRange defaults and
// bounds, and ResourceQuota totals.
//
// The order is Kubernetes' own: the API server's pod defaulting (a limit
// without a request makes the request equal to the limit), then every
// LimitRange's defaults (the mutating phase), then the validations
// (LimitRange bounds, requests within limits, ResourceQuota).
//
// Each pod template is walked once (admitPod): its defaults are written,
// its limits checked and its share of every quota of its namespace
// tallied in the same visit; the quotas are judged once every pod is
// counted.
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
	a := newAdmission(set)
	accounts(set, templates)
	var ds []diag.Diagnostic
	for i := range templates {
		if templates[i].Spec != nil {
			ds = a.admitPod(ds, &templates[i])
		}
	}
	return append(ds, a.judgeQuotas(set)...)
}

// admitPod is the one visit of a pod template: defaults, then the
// LimitRange and request checks, then its usage of the namespace's
// quotas. Its findings are appended to ds.
func (a *admission) admitPod(ds []diag.Diagnostic, t *Template) []diag.Diagnostic {
	cs := containers(t)
	filled := defaultRequestsFromLimits(cs)
	lrs := a.limitRanges[t.Object.Namespace]
	for _, lr := range lrs {
		a.applyDefaults(cs, lr, filled)
	}
	for _, lr := range lrs {
		ds = a.checkLimitRange(ds, t, cs, lr, filled)
	}
	ds = a.checkRequestsWithinLimits(ds, t, cs, filled)
	if t.Count > 0 {
		for _, q := range a.quotas[t.Object.Namespace] {
			a.tally(q, t, cs)
		}
	}
	return ds
}

// admission is the state of one Admit call: the namespaces' LimitRanges
// and quotas, prepared once, and a cache of parsed quantities, since a
// repository repeats the same few ("100m", "64Mi") thousands of times
// and parsing one is costly.
type admission struct {
	quantities  map[string]parsed
	limitRanges map[string][]*preparedLimitRange
	quotas      map[string][]*quotaState
	// quotaOrder is every quota in set order, for the findings.
	quotaOrder []*quotaState
}

// parsed is one quantity as written, parsed once.
type parsed struct {
	q     api.Quantity
	milli int64
	err   error
}

func newAdmission(set *object.Set) *admission {
	a := &admission{quantities: map[string]parsed{}, limitRanges: map[string][]*preparedLimitRange{}, quotas: map[string][]*quotaState{}}
	for _, lr := range object.Typed[api.LimitRange](set, "LimitRange") {
		a.limitRanges[lr.Namespace] = append(a.limitRanges[lr.Namespace], a.prepareLimitRange(lr))
	}
	for _, q := range object.Typed[api.ResourceQuota](set, "ResourceQuota") {
		qs := a.prepareQuota(q)
		a.quotas[q.Namespace] = append(a.quotas[q.Namespace], qs)
		a.quotaOrder = append(a.quotaOrder, qs)
	}
	return a
}

func (a *admission) parse(s string) (parsed, error) {
	p, ok := a.quantities[s]
	if !ok {
		p.q, p.err = api.ParseQuantity(s)
		if p.err == nil {
			p.milli = p.q.MilliValue()
		}
		a.quantities[s] = p
	}
	return p, p.err
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
	out := make([]containerRef, 0, len(t.Spec.InitContainers)+len(t.Spec.Containers))
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

// resourcesOf is a container's requests or limits.
func resourcesOf(c *api.Container, kind string) map[string]string {
	if kind == "limits" {
		return c.Resources.Limits
	}
	return c.Resources.Requests
}
