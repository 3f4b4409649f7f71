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

// preparedLimitRange is one LimitRange prepared once for every pod of its
// namespace: each item's effective defaults and its bounds parsed, keys
// sorted.
type preparedLimitRange struct {
	name  string
	from  string // what a default it wrote says: the default of LimitRange "x"
	items []limitItem
}

// limitItem is one item of a LimitRange, prepared.
type limitItem struct {
	typ                string // Container or Pod
	limits, requests   map[string]string
	limitKeys, reqKeys []string
	min, max           []bound
	ratio              []bound
}

// bound is one min, max or maxLimitRequestRatio entry that parses (the
// schema reports one that does not).
type bound struct {
	res, text string
	milli     int64
	ratio     float64 // maxLimitRequestRatio only
}

func (a *admission) prepareLimitRange(lr object.Of[api.LimitRange]) *preparedLimitRange {
	out := &preparedLimitRange{name: lr.Name, from: "the default of LimitRange " + strconv.Quote(lr.Name)}
	for _, it := range lr.V.Spec.Limits {
		if it.Type != "Container" && it.Type != "Pod" {
			continue
		}
		p := limitItem{typ: it.Type}
		if it.Type == "Container" {
			p.limits, p.requests = effectiveDefaults(it)
			p.limitKeys, p.reqKeys = slices.Sorted(maps.Keys(p.limits)), slices.Sorted(maps.Keys(p.requests))
		}
		p.min, p.max = a.bounds(it.Min), a.bounds(it.Max)
		for _, b := range a.bounds(it.MaxLimitRequestRatio) {
			q, _ := a.parse(b.text)
			b.ratio = q.q.Ratio(one)
			p.ratio = append(p.ratio, b)
		}
		out.items = append(out.items, p)
	}
	return out
}

func (a *admission) bounds(m map[string]string) []bound {
	var out []bound
	for _, res := range slices.Sorted(maps.Keys(m)) {
		if q, err := a.parse(m[res]); err == nil {
			out = append(out, bound{res: res, text: m[res], milli: q.milli})
		}
	}
	return out
}

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

// applyDefaults writes a LimitRange's Container defaults into the
// containers that lack them.
func (a *admission) applyDefaults(cs []containerRef, lr *preparedLimitRange, filled filledSet) {
	for i := range lr.items {
		d := &lr.items[i]
		if d.typ != "Container" {
			continue
		}
		for _, c := range cs {
			r := &c.c.Resources
			for _, k := range d.limitKeys {
				if _, ok := r.Limits[k]; !ok {
					if r.Limits == nil {
						r.Limits = make(map[string]string, len(d.limitKeys))
					}
					r.Limits[k] = d.limits[k]
					filled[filledKey{c.c, "limits", k}] = lr.from
				}
			}
			for _, k := range d.reqKeys {
				if _, ok := r.Requests[k]; !ok {
					if r.Requests == nil {
						r.Requests = make(map[string]string, len(d.reqKeys))
					}
					r.Requests[k] = d.requests[k]
					filled[filledKey{c.c, "requests", k}] = lr.from
				}
			}
		}
	}
}

// amount is one observed request or limit: its value and where it is.
type amount struct {
	q       api.Quantity
	milli   int64  // q in thousandths, rounded up
	text    string // as written (a pod total is rendered by describe)
	present bool
	// The path and the origin are worked out only for a diagnostic: pod
	// is set for a pod total, c, kind and res for one container's value,
	// filled says who wrote a value the file does not hold.
	pod       string
	c         containerRef
	kind, res string
	filled    filledSet
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
	if a.pod != "" {
		return formatMilli(a.res, a.milli)
	}
	if from := a.filled[filledKey{a.c.c, a.kind, a.res}]; from != "" {
		return a.text + " (" + from + ")"
	}
	return a.text
}

func (a *admission) containerAmount(c containerRef, kind, res string, filled filledSet) amount {
	at := amount{c: c, kind: kind, res: res, filled: filled}
	v, ok := resourcesOf(c.c, kind)[res]
	if !ok {
		return at
	}
	p, err := a.parse(v)
	if err != nil {
		return at // the schema reports the syntax
	}
	at.q, at.milli, at.text, at.present = p.q, p.milli, v, true
	return at
}

// podAmount is a pod's total as Kubernetes computes it for LimitRange
// type Pod: the sum over containers, or the largest init container if
// that is more (init containers run one at a time, before the others).
// Its text and quantity are made only when a check needs them.
func (a *admission) podAmount(t *Template, cs []containerRef, kind, res string) amount {
	total, present := a.podMilli(cs, kind, res)
	return amount{milli: total, pod: t.Path, res: res, present: present}
}

// quantity is the amount as a Quantity, for a ratio.
func (a *admission) quantity(at amount) api.Quantity {
	if at.pod == "" {
		return at.q
	}
	p, _ := a.parse(strconv.FormatInt(at.milli, 10) + "m")
	return p.q
}

// subject is what one LimitRange item bounds: a container of the pod,
// or (c nil) the pod's total.
type subject struct {
	t      *Template
	cs     []containerRef
	c      *containerRef
	filled filledSet
}

func (a *admission) amountOf(s *subject, kind, res string) amount {
	if s.c == nil {
		return a.podAmount(s.t, s.cs, kind, res)
	}
	return a.containerAmount(*s.c, kind, res, s.filled)
}

// who starts a finding about s.
func (s *subject) who() string {
	if s.c == nil {
		return "pod total "
	}
	return fmt.Sprintf("container %q: ", s.c.c.Name)
}

// checkLimitRange validates every container (type Container) and the pod
// total (type Pod) against one LimitRange.
func (a *admission) checkLimitRange(ds []diag.Diagnostic, t *Template, cs []containerRef, lr *preparedLimitRange, filled filledSet) []diag.Diagnostic {
	for i := range lr.items {
		it := &lr.items[i]
		switch it.typ {
		case "Container":
			for j := range cs {
				s := subject{t: t, cs: cs, c: &cs[j], filled: filled}
				ds = a.checkBounds(ds, it, lr.name, "per container", cs[j].path+".resources", &s)
			}
		case "Pod":
			s := subject{t: t, cs: cs}
			ds = a.checkBounds(ds, it, lr.name, "per pod", t.Path, &s)
		}
	}
	return ds
}

// checkBounds applies min, max and maxLimitRequestRatio, as the
// LimitRanger's minConstraint, maxConstraint and
// limitRequestRatioConstraint do.
func (a *admission) checkBounds(ds []diag.Diagnostic, it *limitItem, lrName, scope, missingPath string, s *subject) []diag.Diagnostic {
	report := func(path, format string, args ...any) {
		ds = append(ds, s.t.Object.Diag(diag.Error, RuleLimitRange, path, s.who()+format, args...))
	}
	for _, b := range it.min {
		res := b.res
		req, lim := a.amountOf(s, "requests", res), a.amountOf(s, "limits", res)
		switch {
		case !req.present:
			report(missingPath, "requests.%s is not set, but LimitRange %q requires at least %s %s: set resources.requests.%s", res, lrName, b.text, scope, res)
		case req.milli < b.milli:
			report(req.path(), "requests.%s %s is below the minimum %s %s of LimitRange %q: raise it to at least %s", res, req.describe(), b.text, scope, lrName, b.text)
		}
		if lim.present && lim.milli < b.milli {
			report(lim.path(), "limits.%s %s is below the minimum %s %s of LimitRange %q: raise it to at least %s", res, lim.describe(), b.text, scope, lrName, b.text)
		}
	}
	for _, b := range it.max {
		res := b.res
		req, lim := a.amountOf(s, "requests", res), a.amountOf(s, "limits", res)
		switch {
		case !lim.present:
			report(missingPath, "limits.%s is not set, but LimitRange %q allows at most %s %s: set resources.limits.%s", res, lrName, b.text, scope, res)
		case lim.milli > b.milli:
			report(lim.path(), "limits.%s %s is above the maximum %s %s of LimitRange %q: lower it to at most %s", res, lim.describe(), b.text, scope, lrName, b.text)
		}
		if req.present && req.milli > b.milli {
			report(req.path(), "requests.%s %s is above the maximum %s %s of LimitRange %q: lower it to at most %s", res, req.describe(), b.text, scope, lrName, b.text)
		}
	}
	for _, b := range it.ratio {
		res := b.res
		req, lim := a.amountOf(s, "requests", res), a.amountOf(s, "limits", res)
		reqQ, limQ := a.quantity(req), a.quantity(lim)
		switch {
		case !req.present || reqQ.Sign() == 0:
			report(missingPath, "requests.%s must be set and non-zero for the maxLimitRequestRatio %s of LimitRange %q: set resources.requests.%s", res, b.text, lrName, res)
		case !lim.present || limQ.Sign() == 0:
			report(missingPath, "limits.%s must be set and non-zero for the maxLimitRequestRatio %s of LimitRange %q: set resources.limits.%s", res, b.text, lrName, res)
		default:
			got := limQ.Ratio(reqQ)
			if got > b.ratio {
				report(lim.path(), "limits.%s / requests.%s is %s (%s / %s), above the maxLimitRequestRatio %s of LimitRange %q: raise the request or lower the limit",
					res, res, strconv.FormatFloat(got, 'g', 4, 64), lim.describe(), req.describe(), b.text, lrName)
			}
		}
	}
	return ds
}

// checkRequestsWithinLimits is the API server's validation after
// admission: a request may not exceed its limit. It catches a request
// written above a LimitRange's default limit.
func (a *admission) checkRequestsWithinLimits(ds []diag.Diagnostic, t *Template, cs []containerRef, filled filledSet) []diag.Diagnostic {
	var keys []string
	for _, c := range cs {
		if len(c.c.Resources.Limits) == 0 {
			continue // nothing to exceed
		}
		keys = slices.AppendSeq(keys[:0], maps.Keys(c.c.Resources.Requests))
		slices.Sort(keys)
		for _, res := range keys {
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
