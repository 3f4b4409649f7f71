// Package selector implements Kubernetes label selectors (matchLabels and
// matchExpressions with In, NotIn, Exists, DoesNotExist) and node
// selector terms (also Gt and Lt, and matchFields on metadata.name): one
// implementation used by Services, controllers, quotas, nodeSelector and
// node affinity.
package selector

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/plan"
)

// Selector is a parsed label selector. The zero value matches everything.
type Selector struct {
	reqs []requirement
}

type requirement struct {
	key    string
	op     string
	values []string
	// field: key is metadata.name, matched against the node's name.
	field bool
}

// FromMap builds an equality selector (a Service selector, nodeSelector).
// An empty map matches everything; callers that want "nothing" check first.
func FromMap(m map[string]string) Selector {
	var s Selector
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s.reqs = append(s.reqs, requirement{key: k, op: "In", values: []string{m[k]}})
	}
	return s
}

// FromPlan parses a selector the plan carries (a NetworkPolicy's), as
// FromLabelSelector does.
func FromPlan(ls *plan.LabelSelector) (Selector, error) {
	if ls == nil {
		return Selector{}, nil
	}
	in := api.LabelSelector{MatchLabels: ls.MatchLabels}
	for _, e := range ls.MatchExpressions {
		in.MatchExpressions = append(in.MatchExpressions, api.LabelSelectorRequirement(e))
	}
	return FromLabelSelector(&in)
}

// FromLabelSelector parses a LabelSelector, checking operators and values.
func FromLabelSelector(ls *api.LabelSelector) (Selector, error) {
	if ls == nil {
		return Selector{}, nil
	}
	s := FromMap(ls.MatchLabels)
	for i, e := range ls.MatchExpressions {
		switch e.Operator {
		case "In", "NotIn":
			if len(e.Values) == 0 {
				return Selector{}, fmt.Errorf("matchExpressions[%d]: operator %s needs at least one value", i, e.Operator)
			}
		case "Exists", "DoesNotExist":
			if len(e.Values) != 0 {
				return Selector{}, fmt.Errorf("matchExpressions[%d]: operator %s takes no values", i, e.Operator)
			}
		default:
			return Selector{}, fmt.Errorf("matchExpressions[%d]: unknown operator %q (want In, NotIn, Exists or DoesNotExist)", i, e.Operator)
		}
		s.reqs = append(s.reqs, requirement{key: e.Key, op: e.Operator, values: e.Values})
	}
	return s, nil
}

// FromNodeSelectorTerm parses one node selector term (a PV's or a pod's
// node affinity). Like the scheduler's nodeaffinity, Gt and Lt compare
// the label's value and theirs as integers; matchFields name the node.
func FromNodeSelectorTerm(t api.NodeSelectorTerm) (Selector, error) {
	var s Selector
	for i, e := range t.MatchExpressions {
		switch e.Operator {
		case "Gt", "Lt":
			if len(e.Values) != 1 {
				return Selector{}, fmt.Errorf("matchExpressions[%d]: operator %s needs exactly one value", i, e.Operator)
			}
			if _, err := strconv.ParseInt(e.Values[0], 10, 64); err != nil {
				return Selector{}, fmt.Errorf("matchExpressions[%d]: operator %s needs an integer value, not %q", i, e.Operator, e.Values[0])
			}
			s.reqs = append(s.reqs, requirement{key: e.Key, op: e.Operator, values: e.Values})
		default:
			one, err := FromLabelSelector(&api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{e}})
			if err != nil {
				return Selector{}, fmt.Errorf("matchExpressions[%d]: %w", i, err)
			}
			s.reqs = append(s.reqs, one.reqs...)
		}
	}
	for i, f := range t.MatchFields {
		if f.Key != "metadata.name" || (f.Operator != "In" && f.Operator != "NotIn") || len(f.Values) != 1 {
			return Selector{}, fmt.Errorf("matchFields[%d]: only metadata.name with In or NotIn and one value", i)
		}
		s.reqs = append(s.reqs, requirement{key: f.Key, op: f.Operator, values: f.Values, field: true})
	}
	return s, nil
}

// Equality is one key=value the selector requires (an In with one
// value), so that a caller can look up candidates by that label; ok is
// false when it has none.
func (s Selector) Equality() (key, value string, ok bool) {
	for _, r := range s.reqs {
		if r.op == "In" && len(r.values) == 1 && !r.field {
			return r.key, r.values[0], true
		}
	}
	return "", "", false
}

// And returns s with the requirements of o added.
func (s Selector) And(o Selector) Selector {
	return Selector{reqs: append(slices.Clip(s.reqs), o.reqs...)}
}

// Nothing is a selector that matches no labels.
func Nothing() Selector {
	return Selector{reqs: []requirement{{key: "", op: "In"}}}
}

// Empty reports whether the selector has no requirement.
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Matches reports whether labels satisfy every requirement (a
// matchFields requirement never matches: it needs MatchesNode).
func (s Selector) Matches(labels map[string]string) bool {
	return s.match("", false, labels)
}

// MatchesNode reports whether the node named name with labels satisfies
// every requirement.
func (s Selector) MatchesNode(name string, labels map[string]string) bool {
	return s.match(name, true, labels)
}

func (s Selector) match(name string, isNode bool, labels map[string]string) bool {
	for _, r := range s.reqs {
		v, ok := labels[r.key]
		if r.field {
			v, ok = name, isNode
		}
		switch r.op {
		case "Gt", "Lt":
			if !ok {
				return false
			}
			have, err := strconv.ParseInt(v, 10, 64)
			want, _ := strconv.ParseInt(r.values[0], 10, 64)
			if err != nil || (r.op == "Gt" && have <= want) || (r.op == "Lt" && have >= want) {
				return false
			}
		case "In":
			if !ok || !slices.Contains(r.values, v) {
				return false
			}
		case "NotIn":
			if ok && slices.Contains(r.values, v) {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		}
	}
	return true
}

// String renders the selector in kubectl's syntax.
func (s Selector) String() string {
	out := ""
	for i, r := range s.reqs {
		if i > 0 {
			out += ","
		}
		switch r.op {
		case "In":
			if len(r.values) == 1 {
				out += r.key + "=" + r.values[0]
			} else {
				out += fmt.Sprintf("%s in (%s)", r.key, join(r.values))
			}
		case "NotIn":
			out += fmt.Sprintf("%s notin (%s)", r.key, join(r.values))
		case "Exists":
			out += r.key
		case "DoesNotExist":
			out += "!" + r.key
		case "Gt":
			out += r.key + ">" + r.values[0]
		case "Lt":
			out += r.key + "<" + r.values[0]
		}
	}
	return out
}

func join(vs []string) string {
	out := ""
	for i, v := range vs {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}
