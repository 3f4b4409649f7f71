package address

import (
	"cmp"
	"slices"

	"berth.dev/berth/compiler/plan"
)

// Placed is a pod and the node it runs on.
type Placed struct {
	Pod  *plan.Pod
	Node string
}

// Rollout is what Endpoints needs to know about a Rollout: its services
// and the label value of its desired revision.
type Rollout struct {
	Namespace string
	Name      string
	Strategy  plan.Strategy
}

// Endpoints fills each selector service's endpoints with the placed pods
// its selector matches, in pod key order. A named target port resolves
// per pod to the container port of that name and protocol; a pod without
// it gets 0 for that port (it does not serve it).
//
// The plan holds only the desired revision of a Rollout; the reconciler
// adds the pods of the revision still running mid-rollout. Endpoints of a
// canary Rollout are grouped as Argo's services see them: in its
// stableService they are "stable" (the revision it settles on), in any
// other service "canary" (the new revision that setWeight shifts traffic
// to). Everything else is unweighted. Services and pods are in any
// order; services are updated in place.
func Endpoints(services []plan.Service, pods []Placed, rollouts []Rollout) {
	byNS := map[string]*podIndex{}
	for _, p := range pods {
		ix := byNS[p.Pod.Namespace]
		if ix == nil {
			ix = &podIndex{}
			byNS[p.Pod.Namespace] = ix
		}
		ix.pods = append(ix.pods, p)
	}
	for _, ix := range byNS {
		ix.build()
	}
	canary := map[string]*plan.Canary{}
	for _, r := range rollouts {
		if r.Strategy.Type == "Canary" && r.Strategy.Canary != nil {
			canary[r.Namespace+"/"+r.Name] = r.Strategy.Canary
		}
	}
	for i := range services {
		s := &services[i]
		labels := s.Selector
		if s.Selectorless || len(labels) == 0 {
			continue
		}
		s.Endpoints = nil
		ix := byNS[s.Namespace]
		if ix == nil {
			continue
		}
		for _, i := range ix.candidates(labels) {
			p := ix.pods[i]
			if !matches(labels, p.Pod.Labels) {
				continue
			}
			ep := plan.Endpoint{Pod: p.Pod.Key(), Node: p.Node, Ports: make([]int32, len(s.Ports))}
			for j, sp := range s.Ports {
				ep.Ports[j] = targetPort(sp, p.Pod)
			}
			if c := canary[p.Pod.Namespace+"/"+p.Pod.Owner.Name]; c != nil && p.Pod.Owner.Kind == "Rollout" {
				ep.Group = "canary"
				if s.Name == c.StableService {
					ep.Group = "stable"
				}
			}
			s.Endpoints = append(s.Endpoints, ep)
		}
	}
}

// podIndex is a namespace's pods, sorted by name, and for each label
// key and value the pods that carry it: a Service's candidates are the
// pods of its rarest selector label, so matching costs what the Service
// selects, not what the namespace holds.
type podIndex struct {
	pods   []Placed
	labels map[string]map[string][]int // key -> value -> indices in pods, ascending
}

func (ix *podIndex) build() {
	slices.SortFunc(ix.pods, func(a, b Placed) int { return cmp.Compare(a.Pod.Name, b.Pod.Name) })
	ix.labels = map[string]map[string][]int{}
	for i, p := range ix.pods {
		for k, v := range p.Pod.Labels {
			vals := ix.labels[k]
			if vals == nil {
				vals = map[string][]int{}
				ix.labels[k] = vals
			}
			vals[v] = append(vals[v], i)
		}
	}
}

// candidates are the pods that carry the rarest of sel's labels, in name
// order; sel is not empty.
func (ix *podIndex) candidates(sel map[string]string) []int {
	var best []int
	first := true
	for k, v := range sel {
		list := ix.labels[k][v]
		if first || len(list) < len(best) {
			best, first = list, false
		}
	}
	return best
}

// matches is a Service's equality selector against a pod's labels.
func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// targetPort resolves a service port against one pod: a named port of
// its containers, else of its sidecars (FindPort in k8s.io/kubernetes'
// pkg/api/v1/pod).
func targetPort(sp plan.ServicePort, p *plan.Pod) int32 {
	if sp.TargetPortName == "" {
		return sp.TargetPort
	}
	find := func(c *plan.Container) int32 {
		for _, cp := range c.Ports {
			if cp.Name == sp.TargetPortName && cp.Protocol == sp.Protocol {
				return cp.ContainerPort
			}
		}
		return 0
	}
	for i := range p.Spec.Containers {
		if port := find(&p.Spec.Containers[i]); port != 0 {
			return port
		}
	}
	for i := range p.Spec.InitContainers {
		if c := &p.Spec.InitContainers[i]; c.Sidecar() {
			if port := find(c); port != 0 {
				return port
			}
		}
	}
	return 0
}
