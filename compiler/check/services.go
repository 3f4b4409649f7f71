package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/selector"
)

// NodePort range of a default Kubernetes API server, which berth keeps.
const (
	minNodePort = 30000
	maxNodePort = 32767
)

// checkServices checks each Service's selector against the pod templates
// of its namespace, its named targetPorts against the selected
// containers, and its nodePorts against the range and each other.
func checkServices(set *object.Set, pods []pod, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	var nodePorts []nodePortUse
	byLabel := indexLabels(pods)
	for _, s := range object.Typed[api.Service](set, "Service") {
		var selected []pod
		if len(s.V.Spec.Selector) > 0 {
			sel := selector.FromMap(s.V.Spec.Selector)
			for _, i := range candidates(byLabel, s.Namespace, s.V.Spec.Selector) {
				if sel.Matches(pods[i].labels) {
					selected = append(selected, pods[i])
				}
			}
			// A rejected workload may be what the selector meant: its own
			// error is the finding.
			maybeRejected := opts.Rejected.mayMatch(s.Namespace, sel)
			if len(selected) == 0 && !maybeRejected {
				ds = append(ds, s.Diag(diag.Warning, RuleServiceSelector, "spec.selector",
					"selector %s matches no pod template in namespace %s, so the Service has no endpoints: fix the selector or the labels of the workload it should route to", sel, s.Namespace))
			}
		} else {
			ds = append(ds, s.Diag(diag.Warning, RuleServiceSelector, "spec",
				"the Service has no selector, so it routes nowhere (connections are refused): berth has no Endpoints objects to fill it by hand; add spec.selector"))
		}
		for i, sp := range s.V.Spec.Ports {
			path := fmt.Sprintf("spec.ports[%d]", i)
			if sp.TargetPort.IsString && len(selected) > 0 && !declaresPortName(selected, sp.TargetPort.StrVal) && !opts.Rejected.mayMatch(s.Namespace, selector.FromMap(s.V.Spec.Selector)) {
				ds = append(ds, s.Diag(diag.Error, RuleTargetPort, path+".targetPort",
					"targetPort %q is not the name of a port of any selected container (%s): name a declared containerPort or use a port number", sp.TargetPort.StrVal, declaredPorts(selected)))
			}
			if sp.NodePort == 0 {
				continue
			}
			if t := s.V.Spec.Type; t != "NodePort" && t != "LoadBalancer" {
				if t == "" {
					t = "ClusterIP"
				}
				ds = append(ds, s.Diag(diag.Error, RuleNodePort, path+".nodePort",
					"nodePort is set but the Service type is %s: set type: NodePort, or remove nodePort", t))
				continue
			}
			if sp.NodePort < minNodePort || sp.NodePort > maxNodePort {
				ds = append(ds, s.Diag(diag.Error, RuleNodePort, path+".nodePort",
					"nodePort %d is outside the range %d-%d: pick a port in the range, or leave it empty to have one assigned", sp.NodePort, minNodePort, maxNodePort))
				continue
			}
			nodePorts = append(nodePorts, nodePortUse{s.Object, path + ".nodePort", sp.NodePort, protocol(sp.Protocol), s.Pos(path + ".nodePort")})
		}
	}
	return append(ds, nodePortClashes(nodePorts)...)
}

// nodePortUse is one explicit nodePort of a Service.
type nodePortUse struct {
	svc      *object.Object
	path     string
	port     int32
	protocol string
	pos      diag.Pos
}

// nodePortClashes reports every use of a node port after the first in
// file order (what a reader calls "the second one"). Node ports are
// node-wide, so they clash across namespaces.
func nodePortClashes(uses []nodePortUse) []diag.Diagnostic {
	slices.SortStableFunc(uses, func(a, b nodePortUse) int {
		return cmp.Or(cmp.Compare(a.pos.File, b.pos.File), cmp.Compare(a.pos.Line, b.pos.Line), cmp.Compare(a.pos.Col, b.pos.Col))
	})
	var ds []diag.Diagnostic
	first := map[string]nodePortUse{}
	for _, u := range uses {
		key := fmt.Sprintf("%d/%s", u.port, u.protocol)
		f, dup := first[key]
		if !dup {
			first[key] = u
			continue
		}
		ds = append(ds, u.svc.Diag(diag.Error, RuleNodePort, u.path,
			"nodePort %d is already used by Service %s/%s (%s): pick another port in %d-%d, or leave it empty to have one assigned",
			u.port, f.svc.Namespace, f.svc.Name, f.pos, minNodePort, maxNodePort))
	}
	return ds
}

// indexLabels maps "namespace\x00key=value" to the pods carrying that
// label, so that matching a Service looks only at plausible pods instead
// of every pod of the repository.
func indexLabels(pods []pod) map[string][]int {
	idx := map[string][]int{}
	for i, p := range pods {
		for k, v := range p.labels {
			key := p.obj.Namespace + "\x00" + k + "=" + v
			idx[key] = append(idx[key], i)
		}
	}
	return idx
}

// candidates returns the pods (in order) carrying the rarest label pair
// of an equality selector; every match is among them.
func candidates(idx map[string][]int, namespace string, sel map[string]string) []int {
	var best []int
	first := true
	for k, v := range sel {
		c := idx[namespace+"\x00"+k+"="+v]
		if first || len(c) < len(best) {
			best, first = c, false
		}
	}
	return best
}

func protocol(p string) string {
	if p == "" {
		return "TCP"
	}
	return p
}

func declaresPortName(pods []pod, name string) bool {
	for _, p := range pods {
		for _, c := range servingContainers(p) {
			for _, cp := range c.Ports {
				if cp.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// declaredPorts describes the ports the selected templates declare, for a
// message: `Deployment web declares 8080, metrics=9090`.
func declaredPorts(pods []pod) string {
	var parts []string
	for _, p := range pods {
		var ports []string
		for _, c := range servingContainers(p) {
			for _, cp := range c.Ports {
				if cp.Name != "" {
					ports = append(ports, fmt.Sprintf("%s=%d", cp.Name, cp.ContainerPort))
				} else {
					ports = append(ports, fmt.Sprint(cp.ContainerPort))
				}
			}
		}
		if len(ports) == 0 {
			parts = append(parts, fmt.Sprintf("%s %s declares no ports", p.obj.Kind, p.obj.Name))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s declares %s", p.obj.Kind, p.obj.Name, strings.Join(ports, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}

// servingContainers are the containers whose named ports a Service may
// target: the pod's containers and its sidecars (FindPort).
func servingContainers(p pod) []api.Container {
	out := p.spec.Containers
	for _, c := range p.spec.InitContainers {
		if c.RestartPolicy == api.ContainerRestartAlways {
			out = append(out[:len(out):len(out)], c)
		}
	}
	return out
}
