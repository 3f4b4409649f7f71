package daemon

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/plan"
)

// reserved is a port the node itself listens on.
type reserved struct {
	port  int32
	proto string // TCP, UDP, or "" for both
	what  string // for the message
}

// reservedPorts refuses a plan that would capture a port this node
// serves itself: a hostPort (CNI portmap DNAT) on this node, a NodePort
// (every node, every address), or an external or load-balancer IP that
// is an inventory address (the rules run on every node, for traffic to
// that address) on the peer port, where the nodes gossip, or on the API
// port. Either would let a pod answer for the node (issue 20, finding
// 6). The repository cannot override node policy: the node refuses the
// plan and keeps what it runs.
func reservedPorts(p *plan.Plan, cfg *Config) error {
	var res []reserved
	if cfg.PeerPort > 0 {
		res = append(res, reserved{int32(cfg.PeerPort), "", fmt.Sprintf("the peer port (--peer-port %d), where the nodes gossip", cfg.PeerPort)})
	}
	if _, port, err := net.SplitHostPort(cfg.APIAddr); err == nil {
		if n, err := strconv.Atoi(port); err == nil && n > 0 {
			res = append(res, reserved{int32(n), "TCP", fmt.Sprintf("the node API's port (--api-addr %s)", cfg.APIAddr)})
		}
	}
	if len(res) == 0 {
		return nil
	}
	taken := func(port int32, proto string) (string, bool) {
		for _, r := range res {
			if r.port == port && (r.proto == "" || r.proto == cmpProto(proto)) {
				return r.what, true
			}
		}
		return "", false
	}
	var errs []string
	addrs := map[string]bool{}
	for _, n := range p.Nodes {
		if n.Node.Address != "" {
			addrs[n.Node.Address] = true
		}
	}
	for _, n := range p.Nodes {
		if n.Node.Name != cfg.Node {
			continue
		}
		for _, pod := range n.Pods {
			for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
				for _, cp := range c.Ports {
					if what, ok := taken(cp.HostPort, cp.Protocol); ok && cp.HostPort != 0 {
						errs = append(errs, fmt.Sprintf("pod %s, container %s: hostPort %d/%s would capture %s",
							pod.Key(), c.Name, cp.HostPort, cmpProto(cp.Protocol), what))
					}
				}
			}
		}
	}
	for i := range p.Services {
		s := &p.Services[i]
		for _, sp := range s.Ports {
			if what, ok := taken(sp.NodePort, sp.Protocol); ok && sp.NodePort != 0 {
				errs = append(errs, fmt.Sprintf("service %s: nodePort %d/%s would capture %s on every node", s.Key(), sp.NodePort, cmpProto(sp.Protocol), what))
			}
			for _, ip := range s.External() {
				if what, ok := taken(sp.Port, sp.Protocol); ok && addrs[ip] {
					errs = append(errs, fmt.Sprintf("service %s: %s:%d/%s is a node's address and would capture %s",
						s.Key(), ip, sp.Port, cmpProto(sp.Protocol), what))
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.Sort(errs)
	return errors.New("node policy: the plan takes ports this node serves itself, so it is refused here and the node keeps what it runs (choose other ports): " +
		strings.Join(errs, "; "))
}

func cmpProto(p string) string {
	if p == "" {
		return "TCP"
	}
	return strings.ToUpper(p)
}
