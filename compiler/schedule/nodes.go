package schedule

import (
	"maps"
	"slices"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/nodefit"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// Defaults of the node inventory.
const (
	DefaultPodCIDR = plan.DefaultPodCIDR
	// DefaultMaxPods is the kubelet's default pod capacity.
	DefaultMaxPods = 110
	// nodeSubnetBits is the size of a node's pod subnet when the
	// inventory does not give one: a /24 out of the pod CIDR.
	nodeSubnetBits = 24
)

// RulePodCIDR is the rule of a pod CIDR the nodes cannot be given
// subnets of.
const RulePodCIDR = "pod-cidr"

// Local is the implicit node used when the repository has no inventory.
type Local struct {
	Name    string
	Address string
	// Capacity of the machine; zero fields mean unlimited.
	Capacity plan.Resources
}

// Nodes returns the inventory, sorted by name: the berth.dev/v1 Node
// objects of set, or the single local node (which owns the whole pod
// CIDR). Inventory nodes without spec.podCIDR get a /24 of podCIDR chosen
// by name, stable as nodes come and go.
func Nodes(set *object.Set, local Local, podCIDR string) ([]plan.Node, []diag.Diagnostic) {
	inv := object.Typed[api.Node](set, "Node")
	if len(inv) == 0 {
		name := local.Name
		if name == "" {
			name = "local"
		}
		return []plan.Node{{Name: name, Address: local.Address, PodCIDR: podCIDR, Capacity: local.Capacity,
			Labels: map[string]string{"kubernetes.io/hostname": name}}}, nil
	}
	var diags []diag.Diagnostic
	var out []plan.Node
	var auto []string
	fixed := map[string]string{}
	for _, n := range inv {
		if set.Get("Node", "", n.Name) != n.Object {
			continue
		}
		pn := nodefit.FitFacts(n.Name, n.V)
		pn.Address, pn.PodCIDR = n.V.Spec.Address, n.V.Spec.PodCIDR
		pn.Capacity.Pods = DefaultMaxPods
		for _, k := range slices.Sorted(maps.Keys(n.V.Spec.Capacity)) {
			q, err := api.ParseQuantity(n.V.Spec.Capacity[k])
			if err != nil {
				diags = append(diags, n.Diag(diag.Error, "schema", "spec.capacity."+k, "%v", err))
				continue
			}
			switch k {
			case "cpu":
				pn.Capacity.MilliCPU = q.MilliValue()
			case "memory":
				pn.Capacity.Memory = q.Value()
			case "pods":
				pn.Capacity.Pods = q.Value()
			default: // an extended resource (the schema's names)
				if pn.Extended == nil {
					pn.Extended = map[string]int64{}
				}
				pn.Extended[k] = q.Value()
			}
		}
		if pn.PodCIDR == "" {
			auto = append(auto, pn.Name)
		} else {
			fixed[pn.Name] = pn.PodCIDR
		}
		out = append(out, pn)
	}
	if len(auto) > 0 {
		subnets, err := address.Subnets(podCIDR, nodeSubnetBits, auto, fixed)
		if err != nil {
			diags = append(diags, diag.Diagnostic{Pos: inv[0].Pos(""), Severity: diag.Error, Rule: RulePodCIDR, Message: err.Error()})
		}
		for i := range out {
			if out[i].PodCIDR == "" {
				out[i].PodCIDR = subnets[out[i].Name]
			}
		}
	}
	return out, diags
}
