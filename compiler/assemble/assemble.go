// Package assemble turns an admitted set of objects into the Plan: it
// runs the passes in their order of dependence — nodes, addresses,
// expansion, placement, endpoints — and sorts the result, so that equal
// input gives a byte-identical plan.
package assemble

import (
	"cmp"
	"slices"
	"strings"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/disruption"
	"berth.dev/berth/compiler/expand"
	"berth.dev/berth/compiler/networkpolicy"
	"berth.dev/berth/compiler/nodefit"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/schedule"
	"berth.dev/berth/compiler/wave"
)

// Options are the settings of a compilation that the repository does not
// hold.
type Options struct {
	// Revision names the plan (a commit); "" gives a content hash.
	Revision string
	// Local is the node used when the repository has no Node inventory.
	Local schedule.Local
	// ServiceCIDR defaults to 10.96.0.0/12, PodCIDR to 10.88.0.0/16.
	ServiceCIDR string
	PodCIDR     string
	// LoadBalancerPool adds to the Nodes' spec.loadBalancerPool.
	LoadBalancerPool []string
	// SecretKey keys the digests of Secret values (plan.SecretKey).
	SecretKey plan.SecretKey
	// Cordoned are the nodes drained (berth node drain): unschedulable,
	// as in Kubernetes, but for DaemonSet pods.
	Cordoned []string
}

// Plan compiles set into a plan. It returns the plan even when there are
// errors (for tests and partial previews); callers refuse to apply a plan
// that came with errors.
func Plan(set *object.Set, opts Options) (*plan.Plan, []diag.Diagnostic) {
	serviceCIDR := cmp.Or(opts.ServiceCIDR, address.DefaultServiceCIDR)
	podCIDR := cmp.Or(opts.PodCIDR, schedule.DefaultPodCIDR)
	var diags []diag.Diagnostic

	nodes, d := schedule.Nodes(set, opts.Local, podCIDR)
	diags = append(diags, d...)
	nodefit.Cordon(nodes, opts.Cordoned)
	svcs, d := address.Services(set, serviceCIDR, opts.LoadBalancerPool)
	diags = append(diags, d...)
	// The binder's findings are the front end's (compiler/check reports
	// them): the plan only takes its bindings.
	claims, _ := address.Bind(set)
	res := expand.Expand(expand.Input{Set: set, Nodes: nodes, Claims: claims, SecretKey: opts.SecretKey})
	diags = append(diags, res.Diags...)
	where, d := schedule.Place(nodes, res.Pods, networkpolicy.Namespaces(set))
	diags = append(diags, d...)

	p := &plan.Plan{FormatVersion: plan.FormatVersion, Nodes: make([]plan.NodePlan, len(nodes)), Services: svcs,
		ConfigMaps: res.ConfigMaps, Secrets: res.Secrets, Workloads: res.Workloads}
	wave.Assign(set, p.Workloads)
	nodeIndex := make(map[string]int, len(nodes))
	for i, n := range nodes {
		p.Nodes[i].Node = n
		nodeIndex[n.Name] = i
	}
	placed := make([]address.Placed, 0, len(res.Pods))
	owner := make(map[string]*object.Object, len(res.Pods))
	for i, ep := range res.Pods {
		node := where[i]
		if node == "" {
			continue
		}
		if ep.Workload >= 0 {
			p.Workloads[ep.Workload].Node = node
			continue
		}
		// Generated names can meet a bare Pod's name: a node keys pods by
		// namespace/name, so two pods with one key cannot both run.
		if first, dup := owner[ep.Pod.Key()]; dup {
			diags = append(diags, ep.Object.Diag(diag.Error, "duplicate-pod", "metadata.name", "pod %s is also made by %s; rename one of them", ep.Pod.Key(), first.ID()))
			continue
		}
		owner[ep.Pod.Key()] = ep.Object
		np := &p.Nodes[nodeIndex[node]]
		np.Pods = append(np.Pods, *ep.Pod)
		placed = append(placed, address.Placed{Pod: ep.Pod, Node: node})
	}

	var rollouts []address.Rollout
	for _, w := range p.Workloads {
		if w.Kind == "Rollout" {
			rollouts = append(rollouts, address.Rollout{Namespace: w.Namespace, Name: w.Name, Strategy: w.Strategy})
		}
	}
	address.Endpoints(p.Services, placed, rollouts)
	p.NetworkPolicies, p.Namespaces = networkpolicy.Resolve(set)
	p.DisruptionBudgets, d = disruption.Budgets(set, p)
	diags = append(diags, d...)

	sortPlan(p)
	p.Revision = opts.Revision
	if p.Revision == "" {
		p.Revision = plan.ContentRevision(p)
	}
	diag.Sort(diags)
	return p, diags
}

// sortPlan puts every list of p in its canonical order.
func sortPlan(p *plan.Plan) {
	slices.SortFunc(p.Nodes, func(a, b plan.NodePlan) int { return strings.Compare(a.Node.Name, b.Node.Name) })
	for i := range p.Nodes {
		slices.SortFunc(p.Nodes[i].Pods, func(a, b plan.Pod) int {
			return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
		})
	}
	slices.SortFunc(p.Services, func(a, b plan.Service) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	slices.SortFunc(p.Workloads, func(a, b plan.Workload) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name), strings.Compare(a.Kind, b.Kind))
	})
	plan.SortConfig(p.ConfigMaps)
	plan.SortConfig(p.Secrets)
}
