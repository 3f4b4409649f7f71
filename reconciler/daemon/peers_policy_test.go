package daemon

import (
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
)

// TestReservedPorts: a hostPort on this node, a NodePort, or an external
// IP of a node on the peer port (UDP or TCP) or the API port (TCP) is
// refused; the same ports elsewhere are not.
func TestReservedPorts(t *testing.T) {
	cfg := &Config{Node: "n1", PeerPort: 10260, APIAddr: "0.0.0.0:9000"}
	withPod := func(node string, port plan.ContainerPort) *plan.Plan {
		p := twoNodes("192.168.1.1", "192.168.1.2")
		for i := range p.Nodes {
			if p.Nodes[i].Node.Name == node {
				p.Nodes[i].Pods = []plan.Pod{{Namespace: "default", Name: "x",
					Spec: plan.PodSpec{Containers: []plan.Container{{Name: "c", Ports: []plan.ContainerPort{port}}}}}}
			}
		}
		return p
	}
	withSvc := func(s plan.Service) *plan.Plan {
		p := twoNodes("192.168.1.1", "192.168.1.2")
		s.Namespace, s.Name = "default", "s"
		p.Services = []plan.Service{s}
		return p
	}
	for _, tc := range []struct {
		name string
		p    *plan.Plan
		want string // "" = accepted
	}{
		{"hostPort on the peer port", withPod("n1", plan.ContainerPort{ContainerPort: 80, HostPort: 10260}), "pod default/x, container c: hostPort 10260/TCP would capture the peer port"},
		{"UDP hostPort on the peer port", withPod("n1", plan.ContainerPort{ContainerPort: 80, HostPort: 10260, Protocol: "UDP"}), "hostPort 10260/UDP"},
		{"hostPort on the API port", withPod("n1", plan.ContainerPort{ContainerPort: 80, HostPort: 9000}), "the node API's port"},
		{"UDP hostPort on the API port", withPod("n1", plan.ContainerPort{ContainerPort: 80, HostPort: 9000, Protocol: "UDP"}), ""},
		{"hostPort on another node", withPod("n2", plan.ContainerPort{ContainerPort: 80, HostPort: 10260}), ""},
		{"another hostPort", withPod("n1", plan.ContainerPort{ContainerPort: 80, HostPort: 8080}), ""},
		{"nodePort on the peer port", withSvc(plan.Service{Ports: []plan.ServicePort{{Protocol: "UDP", Port: 53, NodePort: 10260}}}), "service default/s: nodePort 10260/UDP"},
		{"external IP of a node", withSvc(plan.Service{ExternalIPs: []string{"192.168.1.2"}, Ports: []plan.ServicePort{{Protocol: "TCP", Port: 10260}}}), "192.168.1.2:10260/TCP is a node's address"},
		{"load-balancer IP of a node", withSvc(plan.Service{LoadBalancerIP: "192.168.1.1", Ports: []plan.ServicePort{{Protocol: "TCP", Port: 9000}}}), "the node API's port"},
		{"external IP elsewhere", withSvc(plan.Service{ExternalIPs: []string{"198.51.100.1"}, Ports: []plan.ServicePort{{Protocol: "TCP", Port: 10260}}}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := reservedPorts(tc.p, cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	if err := reservedPorts(withPod("n1", plan.ContainerPort{HostPort: 10260}), &Config{Node: "n1"}); err != nil {
		t.Errorf("no peer port, no API: %v", err)
	}
}
