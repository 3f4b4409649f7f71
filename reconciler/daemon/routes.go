package daemon

import (
	"fmt"
	"net"
	"sync"

	"github.com/vishvananda/netlink"

	"berth.dev/berth/compiler/plan"
)

// routeProtocol marks the routes berth adds (rtnetlink protocol numbers
// above 4 are free for routing daemons), so it can find and remove its own
// routes and never touches anyone else's.
const routeProtocol = netlink.RouteProtocol(0xbe)

// hostRoutes keeps a host-gw route to every other node's pod CIDR via that
// node's address, so pods reach pods on other nodes by IP.
type hostRoutes struct {
	mu sync.Mutex
}

func (h *hostRoutes) sync(p *plan.Plan, self string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	want := map[string]net.IP{}
	for _, n := range p.Nodes {
		if n.Node.Name == self || n.Node.Address == "" || n.Node.PodCIDR == "" {
			continue
		}
		gw := net.ParseIP(n.Node.Address)
		if gw == nil {
			continue
		}
		want[n.Node.PodCIDR] = gw
	}
	existing, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for _, r := range existing {
		if r.Dst == nil {
			continue
		}
		if gw, ok := want[r.Dst.String()]; !ok || !gw.Equal(r.Gw) {
			if err := netlink.RouteDel(&r); err != nil {
				return fmt.Errorf("remove route %s: %w", r.Dst, err)
			}
		}
	}
	for cidr, gw := range want {
		_, dst, err := net.ParseCIDR(cidr)
		if err != nil {
			return fmt.Errorf("pod CIDR %q: %w", cidr, err)
		}
		if err := netlink.RouteReplace(&netlink.Route{Dst: dst, Gw: gw, Protocol: routeProtocol}); err != nil {
			return fmt.Errorf("route %s via %s: %w (is %s on a directly connected network?)", cidr, gw, err, gw)
		}
	}
	return nil
}

// removeHostRoutes deletes every route berth added (berth cleanup).
func removeHostRoutes() error {
	existing, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return err
	}
	for _, r := range existing {
		if err := netlink.RouteDel(&r); err != nil {
			return err
		}
	}
	return nil
}
