package plan

import (
	"fmt"
	"strings"
)

// NodePlan is node's part of p: the one lookup of node membership that
// the CLI (--node), the daemon and the reconciler share. node "" is the
// one node of a plan that has only one (a repository without an
// inventory). A node the plan does not hold is an error that lists the
// plan's nodes: applying a plan without this node would prune every pod
// on it.
func (p *Plan) NodePlan(node string) (*NodePlan, error) {
	for i := range p.Nodes {
		if p.Nodes[i].Node.Name == node || node == "" && len(p.Nodes) == 1 {
			return &p.Nodes[i], nil
		}
	}
	names := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		names[i] = n.Node.Name
	}
	return nil, fmt.Errorf("node %q is not in the plan (nodes: %s): check --node or the Node inventory", node, strings.Join(names, ", "))
}
