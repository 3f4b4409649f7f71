package reconciler

import (
	"slices"
	"sort"
	"strings"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Weight groups of a canary's services.
const (
	groupStable = "stable"
	groupCanary = "canary"
)

// member is one candidate backend pod of a service.
type member struct {
	pod   *nodes.PodStatus
	ports []int32
	group string
}

// Routes computes every service's routes on this node: the plan's
// endpoints and the pods of the workloads behind them (old revisions
// still serving a rollout included), filtered by readiness, placed by the
// rollout state (blue/green active and preview, canary stable and canary)
// and weighted (a canary's setWeight is an exact share). Pods in leaving
// are left out: they are about to be stopped.
//
// With an inventory of several nodes (see ClusterRoutes), services also
// reach the other nodes' endpoints through their transit ports.
func Routes(d Desired, observed nodes.NodeState, progress State, leaving map[string]bool) []nodes.ServiceRoute {
	return ClusterRoutes(d, inventory(d), observed, progress, leaving)
}

// ClusterRoutes is Routes with the plan's node inventory. Each service
// port balances over this node's ready pods and, through their address
// and the port's transit port, over the other nodes the plan puts
// endpoints on (weighted by their endpoint count, so every pod in the
// cluster weighs the same). For each service with pods here, a route
// named "<service>~transit" answers the transit ports on this node's
// address with this node's pods only. Without other nodes with an
// address, this is exactly Routes on one node.
func ClusterRoutes(d Desired, inv []plan.Node, observed nodes.NodeState, progress State, leaving map[string]bool) []nodes.ServiceRoute {
	c := newCluster(d, inv)
	obs := map[string]*nodes.PodStatus{}
	byOwner := map[string][]*nodes.PodStatus{}
	for i := range observed.Pods {
		p := &observed.Pods[i]
		if !berthOwns(p) || leaving[p.Key()] {
			continue
		}
		obs[p.Key()] = p
		k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
		byOwner[k] = append(byOwner[k], p)
	}
	podOwner := map[string]string{}
	for i := range d.Pods {
		p := &d.Pods[i]
		podOwner[p.Key()] = ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
	}
	workloads := map[string]*plan.Workload{}
	for i := range d.Workloads {
		workloads[d.Workloads[i].Key()] = &d.Workloads[i]
	}
	jobs := newJobIndex(d.Workloads)
	routes := make([]nodes.ServiceRoute, 0, len(d.Services))
	for i := range d.Services {
		svc := &d.Services[i]
		r, transit, ok := route(d, c, svc, obs, byOwner, podOwner, workloads, progress)
		if r.ClusterIP == "None" {
			jobHosts := map[string]string{}
			if jr := jobReady(d, c, svc, jobs, byOwner, r.Ready, jobHosts); len(jr) > 0 {
				r.Ready = append(r.Ready, jr...)
				slices.SortStableFunc(r.Ready, func(a, b nodes.ReadyPod) int { return strings.Compare(a.IP, b.IP) })
				r.Ready = slices.CompactFunc(r.Ready, func(a, b nodes.ReadyPod) bool { return a.IP == b.IP })
			}
			r.Hosts = subdomainHosts(svc, r.Ready, jobHosts)
		}
		routes = append(routes, r)
		if ok {
			routes = append(routes, transit)
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].Key() < routes[j].Key() })
	return routes
}

// route is one service's route and, on a node of a cluster with pods of
// the service here, its transit route (ok).
func route(d Desired, c *cluster, svc *plan.Service, obs map[string]*nodes.PodStatus, byOwner map[string][]*nodes.PodStatus,
	podOwner map[string]string, workloads map[string]*plan.Workload, progress State) (r, transit nodes.ServiceRoute, ok bool) {
	r = nodes.ServiceRoute{Namespace: svc.Namespace, Name: svc.Name, ClusterIP: svc.ClusterIP, ExternalIPs: svc.External()}
	if svc.SessionAffinity == "ClientIP" {
		r.AffinitySeconds = svc.AffinityTimeout
		if r.AffinitySeconds <= 0 {
			r.AffinitySeconds = 10800 // Kubernetes' default
		}
	}
	var members []member
	var remote []*plan.Endpoint
	hasLocal := false
	seen := map[string]bool{}
	covered := map[string][]int32{} // workload -> target ports of one of its endpoints
	var coveredOrder []string
	weights := map[string]int32{}
	for _, gw := range svc.GroupWeights {
		weights[gw.Group] = gw.Percent
	}
	if !svc.Selectorless {
		for j := range svc.Endpoints {
			ep := &svc.Endpoints[j]
			if ep.Node != "" && ep.Node != d.Node {
				remote = append(remote, ep)
				continue
			}
			hasLocal = true
			if w := podOwner[ep.Pod]; w != "" {
				if _, ok := covered[w]; !ok {
					covered[w] = ep.Ports
					coveredOrder = append(coveredOrder, w)
				}
			}
			if o := obs[ep.Pod]; o != nil && !seen[ep.Pod] {
				seen[ep.Pod] = true
				members = append(members, member{pod: o, ports: ep.Ports, group: ep.Group})
			}
		}
		// The workload's other pods (an old revision mid-rollout) serve too.
		for _, w := range coveredOrder {
			for _, o := range byOwner[w] {
				if !seen[o.Key()] {
					seen[o.Key()] = true
					members = append(members, member{pod: o, ports: covered[w]})
				}
			}
		}
	}
	// The rollout decides which revision each service sees, and the weights.
	for _, wk := range coveredOrder {
		w, ro := workloads[wk], progress.Rollouts[wk]
		if w == nil || ro.Stable == "" || ro.Phase == PhaseComplete {
			continue
		}
		switch {
		case w.Strategy.Type == "BlueGreen" && w.Strategy.BlueGreen != nil:
			bg := w.Strategy.BlueGreen
			want := ro.Active
			if svc.Name == bg.PreviewService && bg.PreviewService != "" {
				want = ro.Revision
				if ro.Phase == PhaseAborted {
					want = ro.Active
				}
			}
			members = keepRevision(members, wk, want)
		case w.Strategy.Type == "Canary":
			c := w.Strategy.Canary
			switch {
			case c != nil && c.StableService == svc.Name:
				members = keepOther(members, wk, ro.Revision)
			case c != nil && c.CanaryService == svc.Name:
				members = keepRevision(members, wk, ro.Revision)
			default:
				weights = map[string]int32{groupStable: 100 - ro.Weight, groupCanary: ro.Weight}
				for k := range members {
					members[k].group = groupStable
					if ownerOf(members[k].pod) == wk && members[k].pod.Revision == ro.Revision {
						members[k].group = groupCanary
					}
				}
			}
		}
	}
	var live []member
	for _, m := range members {
		if ready(m.pod) && m.pod.IP != "" {
			live = append(live, m)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].pod.Key() < live[j].pod.Key() })
	if svc.Headless() {
		for _, m := range live {
			r.Ready = append(r.Ready, nodes.ReadyPod{Pod: m.pod.Key(), IP: m.pod.IP, Ports: targetPorts(svc, m.ports)})
		}
		if c != nil {
			r.Ready = append(r.Ready, c.remoteReady(svc, remote)...)
		}
		// One record per address (hostNetwork pods share their node's).
		slices.SortStableFunc(r.Ready, func(a, b nodes.ReadyPod) int { return strings.Compare(a.IP, b.IP) })
		r.Ready = slices.CompactFunc(r.Ready, func(a, b nodes.ReadyPod) bool { return a.IP == b.IP })
	}
	share := groupShares(live, weights)
	local := make([][]nodes.Backend, len(svc.Ports))
	for pi, sp := range svc.Ports {
		rp := nodes.RoutePort{Name: sp.Name, Protocol: sp.Protocol, Port: sp.Port}
		if svc.Type == "NodePort" || svc.Type == "LoadBalancer" {
			rp.NodePort = sp.NodePort
		}
		for k, m := range live {
			port := sp.TargetPort
			if pi < len(m.ports) && m.ports[pi] != 0 {
				port = m.ports[pi]
			}
			if port == 0 || share[k] == 0 {
				continue // a named port this pod does not declare
			}
			rp.Backends = append(rp.Backends, nodes.Backend{IP: m.pod.IP, Port: port, Weight: share[k]})
		}
		local[pi] = rp.Backends
		if c != nil {
			rp.Backends = mergeWeights(rp.Backends, c.remoteBackends(svc, remote, pi))
		}
		r.Ports = append(r.Ports, rp)
	}
	// Other nodes send this node's share here; answer it when the plan
	// puts endpoints here or pods here still serve (an old revision).
	if c != nil && (len(members) > 0 || hasLocal) {
		transit, ok = c.transitRoute(svc, local)
	}
	return r, transit, ok
}

func ownerOf(p *nodes.PodStatus) string { return ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name) }

// targetPorts is a pod's target port of each port of svc: its resolved
// named port, or the number (0: a named port the pod does not declare).
func targetPorts(svc *plan.Service, resolved []int32) []int32 {
	out := make([]int32, len(svc.Ports))
	for pi, sp := range svc.Ports {
		out[pi] = sp.TargetPort
		if pi < len(resolved) && resolved[pi] != 0 {
			out[pi] = resolved[pi]
		}
	}
	return out
}

// keepRevision drops the workload's pods of other revisions.
func keepRevision(ms []member, wk, rev string) []member {
	out := ms[:0:0]
	for _, m := range ms {
		if ownerOf(m.pod) != wk || m.pod.Revision == rev {
			out = append(out, m)
		}
	}
	return out
}

// keepOther drops the workload's pods of revision rev.
func keepOther(ms []member, wk, rev string) []member {
	out := ms[:0:0]
	for _, m := range ms {
		if ownerOf(m.pod) != wk || m.pod.Revision != rev {
			out = append(out, m)
		}
	}
	return out
}

// groupShares gives each ready member its weight. Without group weights
// every member weighs 1. With them, a group's percent is split evenly
// among its ready members, and a group with none gives its share to the
// others (relative weights do that by themselves). Weights are exact: each
// is percent * L / n, with L the least common multiple of the group sizes.
func groupShares(live []member, weights map[string]int32) []uint32 {
	out := make([]uint32, len(live))
	if len(weights) == 0 {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	count := map[string]int{}
	for _, m := range live {
		count[m.group]++
	}
	l := 1
	total := int32(0)
	for g, n := range count {
		l = lcm(l, n)
		total += weights[g]
	}
	if total == 0 || l > 1_000_000 {
		// Only zero-weight groups are ready: better them than nothing.
		for i := range out {
			out[i] = 1
		}
		return out
	}
	for i, m := range live {
		out[i] = uint32(int(weights[m.group]) * l / count[m.group])
	}
	return out
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// subdomainHosts are the ready pods of a headless Service (this node's
// and the other nodes' as they told them) that have a host name in it
// (the plan's endpoint hostname: spec.hostname with the Service as
// subdomain, or a StatefulSet's ordinal), by host name: the names
// <hostname>.<service>.<namespace>.svc the cluster DNS answers on every
// node. Pods of one Deployment sharing a hostname each add an address;
// jobs are the host names of Job pods (jobReady).
func subdomainHosts(svc *plan.Service, ready []nodes.ReadyPod, jobs map[string]string) []nodes.HostAddr {
	names := jobs // the pods of Jobs, which have no endpoints in the plan
	for _, ep := range svc.Endpoints {
		if ep.Hostname != "" {
			if names == nil {
				names = map[string]string{}
			}
			names[ep.Pod] = ep.Hostname
		}
	}
	var out []nodes.HostAddr
	for _, r := range ready {
		if h := names[r.Pod]; h != "" {
			out = append(out, nodes.HostAddr{Host: h, IP: r.IP})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Host < out[j].Host || out[i].Host == out[j].Host && out[i].IP < out[j].IP
	})
	return out
}
