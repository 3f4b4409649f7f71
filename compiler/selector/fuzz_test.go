package selector

import (
	"strconv"
	"testing"

	"berth.dev/berth/compiler/api"
)

// FuzzNodeSelectorTerm: any operator and values parse or fail cleanly,
// and Gt/Lt agree with integer comparison of the label's value.
func FuzzNodeSelectorTerm(f *testing.F) {
	f.Add("size", "Gt", "8", "10", "n1")
	f.Add("size", "Lt", "-3", "x", "n2")
	f.Add("metadata.name", "In", "n1", "", "n1")
	f.Fuzz(func(t *testing.T, key, op, value, label, name string) {
		term := api.NodeSelectorTerm{MatchExpressions: []api.LabelSelectorRequirement{{Key: key, Operator: op, Values: []string{value}}}}
		s, err := FromNodeSelectorTerm(term)
		if err != nil {
			return
		}
		got := s.MatchesNode(name, map[string]string{key: label})
		if op == "Gt" || op == "Lt" {
			have, e1 := strconv.ParseInt(label, 10, 64)
			want, _ := strconv.ParseInt(value, 10, 64)
			exp := e1 == nil && ((op == "Gt" && have > want) || (op == "Lt" && have < want))
			if got != exp {
				t.Errorf("%s %s %s on %q: %v, want %v", key, op, value, label, got, exp)
			}
		}
		_ = s.String()
		fields := api.NodeSelectorTerm{MatchFields: []api.LabelSelectorRequirement{{Key: key, Operator: op, Values: []string{value}}}}
		if fs, err := FromNodeSelectorTerm(fields); err == nil && fs.Matches(map[string]string{key: value}) {
			t.Errorf("a matchFields requirement matched labels")
		}
	})
}
