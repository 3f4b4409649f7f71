package plan

import (
	"strings"
	"testing"
)

func TestNodePlan(t *testing.T) {
	two := &Plan{Nodes: []NodePlan{{Node: Node{Name: "a"}}, {Node: Node{Name: "b"}}}}
	one := &Plan{Nodes: []NodePlan{{Node: Node{Name: "box"}}}}
	for _, tt := range []struct {
		p          *Plan
		node, want string
	}{
		{two, "b", "b"},
		{two, "c", `node "c" is not in the plan (nodes: a, b): check --node or the Node inventory`},
		{two, "", `node "" is not in the plan (nodes: a, b): check --node or the Node inventory`},
		{one, "", "box"},
		{one, "box", "box"},
		{&Plan{}, "x", `node "x" is not in the plan (nodes: ): check --node or the Node inventory`},
	} {
		np, err := tt.p.NodePlan(tt.node)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = np.Node.Name
		}
		if got != tt.want {
			t.Errorf("NodePlan(%q) = %s, want %s", tt.node, got, tt.want)
		}
		if err == nil && !strings.Contains(got, np.Node.Name) {
			t.Errorf("wrong node")
		}
	}
}
