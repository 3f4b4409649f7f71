package address

import (
	"fmt"
	"net/netip"
	"strconv"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// Rules of the diagnostics this package reports.
const (
	RuleClusterIP = "cluster-ip"
	RuleNodePort  = "node-port"
	RuleBinding   = "volume-binding"
)

const defaultAffinityTimeout = 10800 // Kubernetes' ClientIP default, 3 hours

// Services resolves every Service of set (in set order) and assigns its
// ClusterIP from serviceCIDR, its NodePorts, and a LoadBalancer's address
// from the pool (every Node's spec.loadBalancerPool and lbPool), honouring
// explicit values. Endpoints are filled later by Endpoints.
func Services(set *object.Set, serviceCIDR string, lbPool []string) ([]plan.Service, []diag.Diagnostic) {
	var diags []diag.Diagnostic
	c, err := parseCIDR(serviceCIDR)
	if err != nil {
		return nil, []diag.Diagnostic{{Severity: diag.Error, Rule: RuleClusterIP, Message: err.Error()}}
	}
	svcs := object.Typed[api.Service](set, "Service")
	out := make([]plan.Service, 0, len(svcs))
	objs := make([]*object.Object, 0, len(svcs))
	for _, s := range svcs {
		if set.Get("Service", s.Namespace, s.Name) != s.Object {
			continue // a duplicate; the checks report it
		}
		out = append(out, resolve(s.Object, s.V))
		objs = append(objs, s.Object)
	}

	// ClusterIPs: explicit ones first, in set order; a second claim of the
	// same address is a clash.
	taken := map[uint64]string{}
	var auto []string
	index := map[string]int{}
	for i := range out {
		s := &out[i]
		switch s.ClusterIP {
		case "":
			auto = append(auto, s.Key())
			index[s.Key()] = i
			continue
		case "None":
			continue
		}
		a, err := netip.ParseAddr(s.ClusterIP)
		if err != nil {
			diags = append(diags, objs[i].Diag(diag.Error, RuleClusterIP, "spec.clusterIP", "%q is not an IP address", s.ClusterIP))
			continue
		}
		slot, ok := c.slot(a)
		if !ok {
			diags = append(diags, objs[i].Diag(diag.Error, RuleClusterIP, "spec.clusterIP", "%s is outside the service CIDR %s (or reserved); pick an address inside it, or omit clusterIP", a, c.prefix))
			continue
		}
		if owner, clash := taken[slot]; clash {
			diags = append(diags, objs[i].Diag(diag.Error, RuleClusterIP, "spec.clusterIP", "clusterIP %s is already used by Service %s; pick another, or omit clusterIP", a, owner))
			continue
		}
		taken[slot] = s.Key()
	}
	sortStrings(auto)
	got, left := probe(auto, c.size, taken)
	for id, slot := range got {
		out[index[id]].ClusterIP = c.addr(slot).String()
	}
	for _, id := range left {
		diags = append(diags, objs[index[id]].Diag(diag.Error, RuleClusterIP, "spec", "the service CIDR %s is full; use a larger --service-cidr", c.prefix))
	}

	diags = append(diags, nodePorts(out, objs)...)
	pl, d := newPool(set, lbPool)
	diags = append(diags, d...)
	diags = append(diags, loadBalancerIPs(out, objs, pl)...)
	return out, diags
}

// resolve converts one Service, without addresses.
func resolve(o *object.Object, s *api.Service) plan.Service {
	ps := plan.Service{
		Namespace:      o.Namespace,
		Name:           o.Name,
		Type:           s.Spec.Type,
		ClusterIP:      s.Spec.ClusterIP,
		ExternalIPs:    s.Spec.ExternalIPs,
		LoadBalancerIP: s.Spec.LoadBalancerIP,
		Selector:       s.Spec.Selector,
		Selectorless:   len(s.Spec.Selector) == 0,
	}
	if ps.Type == "" {
		ps.Type = "ClusterIP"
	}
	if s.Spec.SessionAffinity == "ClientIP" {
		ps.SessionAffinity = "ClientIP"
		ps.AffinityTimeout = defaultAffinityTimeout
		if c := s.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			ps.AffinityTimeout = *c.ClientIP.TimeoutSeconds
		}
	}
	for _, p := range s.Spec.Ports {
		sp := plan.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port, NodePort: p.NodePort}
		if sp.Protocol == "" {
			sp.Protocol = "TCP"
		}
		switch {
		case p.TargetPort.IsZero():
			sp.TargetPort = p.Port
		case p.TargetPort.IsString:
			sp.TargetPortName = p.TargetPort.StrVal
		default:
			sp.TargetPort = p.TargetPort.IntVal
		}
		ps.Ports = append(ps.Ports, sp)
	}
	return ps
}

// nodePorts assigns the NodePorts of NodePort and LoadBalancer services.
// A port's identity is namespace/name/protocol/port, so reordering a
// service's ports keeps their NodePorts.
func nodePorts(out []plan.Service, objs []*object.Object) []diag.Diagnostic {
	var diags []diag.Diagnostic
	const size = NodePortMax - NodePortMin + 1
	taken := map[uint64]string{}
	type ref struct{ svc, port int }
	refs := map[string]ref{}
	var auto []string
	for i := range out {
		s := &out[i]
		if s.Type != "NodePort" && s.Type != "LoadBalancer" {
			for j := range s.Ports {
				if s.Ports[j].NodePort != 0 {
					diags = append(diags, objs[i].Diag(diag.Error, RuleNodePort, fmt.Sprintf("spec.ports[%d].nodePort", j), "nodePort is only allowed on NodePort and LoadBalancer services (this one is %s)", s.Type))
					s.Ports[j].NodePort = 0
				}
			}
			continue
		}
		for j, p := range s.Ports {
			id := s.Key() + "/" + p.Protocol + "/" + strconv.Itoa(int(p.Port))
			if p.NodePort == 0 {
				auto = append(auto, id)
				refs[id] = ref{i, j}
				continue
			}
			path := fmt.Sprintf("spec.ports[%d].nodePort", j)
			if p.NodePort < NodePortMin || p.NodePort > NodePortMax {
				diags = append(diags, objs[i].Diag(diag.Error, RuleNodePort, path, "nodePort %d is outside %d-%d", p.NodePort, NodePortMin, NodePortMax))
				continue
			}
			slot := uint64(p.NodePort - NodePortMin)
			if owner, clash := taken[slot]; clash {
				diags = append(diags, objs[i].Diag(diag.Error, RuleNodePort, path, "nodePort %d is already used by %s; pick another, or omit nodePort", p.NodePort, owner))
				continue
			}
			taken[slot] = "Service " + s.Key()
		}
	}
	// Sorted identities: services are in set order (sorted by namespace
	// and name) and their ports are unique per protocol and port.
	sortStrings(auto)
	got, left := probe(auto, size, taken)
	for id, slot := range got {
		r := refs[id]
		out[r.svc].Ports[r.port].NodePort = int32(slot) + NodePortMin
	}
	for _, id := range left {
		r := refs[id]
		diags = append(diags, objs[r.svc].Diag(diag.Error, RuleNodePort, fmt.Sprintf("spec.ports[%d]", r.port), "no free nodePort is left in %d-%d", NodePortMin, NodePortMax))
	}
	return diags
}
