package daemon

import (
	"log/slog"

	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/gitops"
	"berth.dev/berth/reconciler/nodeapi"
	"berth.dev/berth/reconciler/webui"
)

// newUI assembles the web view from what the daemon already exposes to
// the API: the loop, the node's drivers and reconciler, what this node
// knows of the others, and the source's snapshots (for file:line).
func newUI(cfg Config, loop *gitops.Loop, node *Node, src gitops.Fetcher, cluster func() []nodeapi.NodeSummary, log *slog.Logger) (*webui.UI, error) {
	snapshot := func(rev string) (string, bool) {
		switch s := src.(type) {
		case gitops.Snapshots:
			r, ok := s.Snapshot(rev)
			return r.Dir, ok
		case dirSource:
			return s.dir, true
		}
		return "", false
	}
	return webui.New(webui.Options{
		Node: cfg.Node, Loop: loop, Pods: node, Cluster: cluster, Snapshot: snapshot,
		Status: func() (reconciler.Status, bool) {
			if r := node.Reconciler(); r != nil {
				return r.Status(), true
			}
			return reconciler.Status{}, false
		},
		Routes: func() []nodes.ServiceRoute {
			if r := node.Reconciler(); r != nil {
				return r.Programmed()
			}
			return nil
		},
		Logger: log.With("component", "webui"),
	})
}
