package plandiff

import "strings"

// Details is what the Markdown table's Details column says of a change
// (restart or in place, how the rollout goes), for other renderers of the
// same table (the daemon's web view).
func Details(c *Change) string {
	return strings.TrimPrefix(strings.TrimPrefix(note(c), ": "), " ")
}

// PodCounts is what the change does to the node's pods ("3 pods: 2
// created, 1 deleted"), as the text and Markdown outputs say it.
func (n *NodePods) PodCounts() string { return podCounts(n) }

// Owners names the workloads of those pods, the first five.
func (n *NodePods) Owners() string { return owners(n, 5) }
