package admit

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

var one = api.MustQuantity("1")

// effectiveDefaults returns an item's default limits and default requests
// as the API server defaults them (SetDefaults_LimitRangeItem): a missing
// default limit falls back to max, a missing default request to the
// default limit, then to min.
func effectiveDefaults(it api.LimitRangeItem) (limits, requests map[string]string) {
	limits = maps.Clone(it.Default)
	if limits == nil {
		limits = map[string]string{}
	}
	for k, v := range it.Max {
		if _, ok := limits[k]; !ok {
			limits[k] = v
		}
	}
	requests = maps.Clone(it.DefaultRequest)
	if requests == nil {
		requests = map[string]string{}
	}
	for k, v := range limits {
		if _, ok := requests[k]; !ok {
			requests[k] = v
		}
	}
	for k, v := range it.Min {
		if _, ok := requests[k]; !ok {
			requests[k] = v
		}
	}
	return limits, requests
}

// itemDefaults is a Container item's effective defaults, keys sorted.
type itemDefaults struct {
	limits, requests   map[string]string
	limitKeys, reqKeys []string
}

func (a *admission) defaultsOf(it *api.LimitRangeItem) itemDefaults {
	d, ok := a.defaults[it]
	if !ok {
		d.limits, d.requests = effectiveDefaults(*it)
		d.limitKeys, d.reqKeys = slices.Sorted(maps.Keys(d.limits)), slices.Sorted(maps.Keys(d.requests))
		a.defaults[it] = d
	}
	return d
}

// applyDefaults writes a LimitRange's Container defaults into the
// containers that lack them.
func (a *admission) applyDefaults(cs []containerRef, lr object.Of[api.LimitRange], filled filledSet) {
	for i := range lr.V.Spec.Limits {
		it := &lr.V.Spec.Limits[i]
		if it.Type != "Container" {
			continue
		}
		d := a.defaultsOf(it)
		from := "the default of LimitRange " + strconv.Quote(lr.Name)
		for _, c := range cs {
			r := &c.c.Resources
			for _, k := range d.limitKeys {
				if _, ok := r.Limits[k]; !ok {
					if r.Limits == nil {
						r.Limits = make(map[string]string, len(d.limitKeys))
					}
					r.Limits[k] = d.limits[k]
					filled[filledKey{c.c, "limits", k}] = from
				}
			}
			for _, k := range d.reqKeys {
				if _, ok := r.Requests[k]; !ok {
					if r.Requests == nil {
						r.Requests = make(map[string]string, len(d.reqKeys))
					}
					r.Requests[k] = d.requests[k]
					filled[filledKey{c.c, "requests", k}] = from
				}
			}
		}
	}
}

// amount is one observed request or limit: its value and where it is.
type amount struct {
	q       api.Quantity
	milli   int64  // q in thousandths, rounded up
	text    string // as written, or a sum rendered by formatMilli
	from    string // "" when written in the file; else who filled it in
	present bool
	// The path is built only for a diagnostic: pod is set for a pod
	// total, c, kind and res for one container's value.
	pod       string
	c         containerRef
	kind, res string
}

// path is the field path of the value, or of the resources of a
// container that lacks it.
func (a amount) path() string {
	switch {
	case a.pod != "":
		return a.pod
	case !a.present:
		return a.c.path + ".resources"
	}
	return a.c.path + ".resources." + a.kind + "." + a.res
}

func (a amount) describe() string {
	if a.from == "" {
		return a.text
	}
	return a.text + " (" + a.from + ")"
}

func (a *admission) containerAmount(c containerRef, kind, res string, filled filledSet) amount {
	m := c.c.Resources.Requests
	if kind == "limits" {
		m = c.c.Resources.Limits
	}
	at := amount{c: c, kind: kind, res: res}
	v, ok := m[res]
	if !ok {
		return at
	}
	q, err := a.parse(v)
	if err != nil {
		return at // the schema reports the syntax
	}
	at.q, at.milli, at.text, at.present = q, a.milli[v], v, true
	at.from = filled[filledKey{c.c, kind, res}]
	return at
}

// podAmount is a pod's total as Kubernetes computes it for LimitRange
// type Pod: the sum over containers, or the largest init container if
// that is more (init containers run one at a time, before the others).
func (a *admission) podAmount(t *Template, kind, res string) amount {
	total, present := a.podMilli(t, kind, res)
	q, _ := a.parse(strconv.FormatInt(total, 10) + "m")
	return amount{q: q, milli: total, text: formatMilli(res, total), pod: t.Path, present: present}
}

// checkLimitRange validates every container (type Container) and the pod
// total (type Pod) against one LimitRange.
func (a *admission) checkLimitRange(t *Template, lr object.Of[api.LimitRange], filled filledSet) []diag.Diagnostic {
	var ds []diag.Diagnostic
	o := t.Object
	for _, it := range lr.V.Spec.Limits {
		switch it.Type {
		case "Container":
			for _, c := range a.containersOf(t) {
				who := fmt.Sprintf("container %q: ", c.c.Name)
				get := func(kind, res string) amount { return a.containerAmount(c, kind, res, filled) }
				ds = append(ds, a.bounds(o, it, lr.Name, "per container", who, c.path+".resources", get)...)
			}
		case "Pod":
			get := func(kind, res string) amount { return a.podAmount(t, kind, res) }
			ds = append(ds, a.bounds(o, it, lr.Name, "per pod", "pod total ", t.Path, get)...)
		}
	}
	return ds
}

// bounds applies min, max and maxLimitRequestRatio, as the LimitRanger's
// minConstraint, maxConstraint and limitRequestRatioConstraint do.
func (a *admission) bounds(o *object.Object, it api.LimitRangeItem, lrName, scope, who, missingPath string, get func(kind, res string) amount) []diag.Diagnostic {
	var ds []diag.Diagnostic
	report := func(path, format string, args ...any) {
		ds = append(ds, o.Diag(diag.Error, RuleLimitRange, path, who+format, args...))
	}
	for _, res := range slices.Sorted(maps.Keys(it.Min)) {
		if _, err := a.parse(it.Min[res]); err != nil {
			continue
		}
		lo := a.milli[it.Min[res]]
		req, lim := get("requests", res), get("limits", res)
		switch {
		case !req.present:
			report(missingPath, "requests.%s is not set, but LimitRange %q requires at least %s %s: set resources.requests.%s", res, lrName, it.Min[res], scope, res)
		case req.milli < lo:
			report(req.path(), "requests.%s %s is below the minimum %s %s of LimitRange %q: raise it to at least %s", res, req.describe(), it.Min[res], scope, lrName, it.Min[res])
		}
		if lim.present && lim.milli < lo {
			report(lim.path(), "limits.%s %s is below the minimum %s %s of LimitRange %q: raise it to at least %s", res, lim.describe(), it.Min[res], scope, lrName, it.Min[res])
		}
	}
	for _, res := range slices.Sorted(maps.Keys(it.Max)) {
		if _, err := a.parse(it.Max[res]); err != nil {
			continue
		}
		hi := a.milli[it.Max[res]]
		req, lim := get("requests", res), get("limits", res)
		switch {
		case !lim.present:
			report(missingPath, "limits.%s is not set, but LimitRange %q allows at most %s %s: set resources.limits.%s", res, lrName, it.Max[res], scope, res)
		case lim.milli > hi:
			report(lim.path(), "limits.%s %s is above the maximum %s %s of LimitRange %q: lower it to at most %s", res, lim.describe(), it.Max[res], scope, lrName, it.Max[res])
		}
		if req.present && req.milli > hi {
			report(req.path(), "requests.%s %s is above the maximum %s %s of LimitRange %q: lower it to at most %s", res, req.describe(), it.Max[res], scope, lrName, it.Max[res])
		}
	}
	for _, res := range slices.Sorted(maps.Keys(it.MaxLimitRequestRatio)) {
		ratio, err := a.parse(it.MaxLimitRequestRatio[res])
		if err != nil {
			continue
		}
		req, lim := get("requests", res), get("limits", res)
		switch {
		case !req.present || req.q.Sign() == 0:
			report(missingPath, "requests.%s must be set and non-zero for the maxLimitRequestRatio %s of LimitRange %q: set resources.requests.%s", res, it.MaxLimitRequestRatio[res], lrName, res)
		case !lim.present || lim.q.Sign() == 0:
			report(missingPath, "limits.%s must be set and non-zero for the maxLimitRequestRatio %s of LimitRange %q: set resources.limits.%s", res, it.MaxLimitRequestRatio[res], lrName, res)
		default:
			got := lim.q.Ratio(req.q)
			if got > ratio.Ratio(one) {
				report(lim.path(), "limits.%s / requests.%s is %s (%s / %s), above the maxLimitRequestRatio %s of LimitRange %q: raise the request or lower the limit",
					res, res, strconv.FormatFloat(got, 'g', 4, 64), lim.describe(), req.describe(), it.MaxLimitRequestRatio[res], lrName)
			}
		}
	}
	return ds
}

// checkRequestsWithinLimits is the API server's validation after
// admission: a request may not exceed its limit. It catches a request
// written above a LimitRange's default limit.
func (a *admission) checkRequestsWithinLimits(t *Template, filled filledSet) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for _, c := range a.containersOf(t) {
		for _, res := range slices.Sorted(maps.Keys(c.c.Resources.Requests)) {
			req := a.containerAmount(c, "requests", res, filled)
			lim := a.containerAmount(c, "limits", res, filled)
			if req.present && lim.present && req.milli > lim.milli {
				ds = append(ds, t.Object.Diag(diag.Error, RuleResources, req.path(),
					"container %q: requests.%s %s is above limits.%s %s: a request may not exceed its limit; lower the request or raise the limit",
					c.c.Name, res, req.describe(), res, lim.describe()))
			}
		}
	}
	return ds
}
