package daemon

import (
	"net"

	"berth.dev/berth/compiler/plan"
)

// hostRouter keeps this node's host-gw routes: exactly want, a gateway by
// pod CIDR. nodes/hostroutes is the driver.
type hostRouter interface {
	Sync(want map[string]string) error
}

// wantedRoutes is what this node (self) routes from p: every other node's
// pod CIDR via that node's address, so pods reach pods on other nodes by
// IP. A node without an address or a pod CIDR is left out.
func wantedRoutes(p *plan.Plan, self string) map[string]string {
	want := map[string]string{}
	for _, n := range p.Nodes {
		if n.Node.Name == self || n.Node.Address == "" || n.Node.PodCIDR == "" {
			continue
		}
		gw := net.ParseIP(n.Node.Address)
		if gw == nil {
			continue
		}
		want[n.Node.PodCIDR] = gw.String()
	}
	return want
}
