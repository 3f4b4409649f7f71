// Package selector implements Kubernetes label selectors (matchLabels and
// matchExpressions with In, NotIn, Exists, DoesNotExist): one
// implementation used by Services, controllers, quotas and nodeSelector.
package selector

import (
	"fmt"
	"slices"

	"berth.dev/berth/compiler/api"
)

// Selector is a parsed label selector. The zero value matches everything.
type Selector struct {
	reqs []requirement
}

type requirement struct {
	key    string
	op     string
	values []string
}

// FromMap builds an equality selector (a Service selector, nodeSelector).
// An empty map matches everything; callers that want "nothing" check first.
func FromMap(m map[string]string) Selector {
	var s Selector
	for _, k := range sortedKeys(m) {
		s.reqs = append(s.reqs, requirement{key: k, op: "In", values: []string{m[k]}})
	}
	return s
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

// FromNodeSelectorTerm parses one term of a PV's node affinity.
func FromNodeSelectorTerm(t api.NodeSelectorTerm) (Selector, error) {
	return FromLabelSelector(&api.LabelSelector{MatchExpressions: t.MatchExpressions})
}

// Empty reports whether the selector has no requirement.
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Matches reports whether labels satisfy every requirement.
func (s Selector) Matches(labels map[string]string) bool {
	for _, r := range s.reqs {
		v, ok := labels[r.key]
		switch r.op {
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
