package selector

import (
	"testing"

	"berth.dev/berth/compiler/api"
)

func TestMatches(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		name string
		sel  *api.LabelSelector
		want bool
	}{
		{"nil matches all", nil, true},
		{"matchLabels hit", &api.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, true},
		{"matchLabels miss", &api.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, false},
		{"In hit", expr("tier", "In", "front", "back"), true},
		{"In miss", expr("tier", "In", "back"), false},
		{"In absent key", expr("zone", "In", "a"), false},
		{"NotIn hit", expr("tier", "NotIn", "back"), true},
		{"NotIn miss", expr("tier", "NotIn", "front"), false},
		{"NotIn absent key", expr("zone", "NotIn", "a"), true},
		{"Exists", expr("app", "Exists"), true},
		{"Exists miss", expr("zone", "Exists"), false},
		{"DoesNotExist", expr("zone", "DoesNotExist"), true},
		{"DoesNotExist miss", expr("app", "DoesNotExist"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := FromLabelSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Matches(labels); got != tt.want {
				t.Errorf("Matches = %v, want %v (selector %q)", got, tt.want, s)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	for _, sel := range []*api.LabelSelector{
		expr("a", "In"),
		expr("a", "Exists", "x"),
		expr("a", "Equals", "x"),
	} {
		if _, err := FromLabelSelector(sel); err == nil {
			t.Errorf("FromLabelSelector(%+v) = nil error, want one", sel.MatchExpressions)
		}
	}
}

func TestString(t *testing.T) {
	s, _ := FromLabelSelector(&api.LabelSelector{
		MatchLabels:      map[string]string{"b": "2", "a": "1"},
		MatchExpressions: []api.LabelSelectorRequirement{{Key: "c", Operator: "NotIn", Values: []string{"x", "y"}}, {Key: "d", Operator: "DoesNotExist"}},
	})
	if got, want := s.String(), "a=1,b=2,c notin (x,y),!d"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func expr(key, op string, values ...string) *api.LabelSelector {
	return &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}
