package reconciler

import (
	"hash/fnv"
	"maps"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Transit ports: traffic to nodeAddress:transitPort is balanced by the
// owning node over its own ready pods of one service port, so other nodes
// reach a service's pods there without knowing their IPs.
const (
	TransitPortMin = 40000
	TransitPortMax = 49999
	transitSize    = TransitPortMax - TransitPortMin + 1
)

// TransitSuffix ends the name of the route that answers a service's
// transit ports on this node's address.
const TransitSuffix = "~transit"

// TransitPorts gives every port of every selector service a transit port,
// by "namespace/name", one entry per service port (0: none left). It is a
// pure function of the services, so every node computing it from the same
// plan gets the same ports: a port starts at the hash of
// namespace/name/protocol/port and collisions move on to the next free
// port, in sorted service order. Adding a service can move another's
// transit port; nodes agree again once they run the same commit.
func TransitPorts(svcs []plan.Service) map[string][]int32 {
	order := make([]*plan.Service, 0, len(svcs))
	for i := range svcs {
		if !svcs[i].Selectorless && len(svcs[i].Ports) > 0 {
			order = append(order, &svcs[i])
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Key() < order[j].Key() })
	used := make(map[int32]bool)
	out := make(map[string][]int32, len(order))
	for _, s := range order {
		ports := make([]int32, len(s.Ports))
		for pi, sp := range s.Ports {
			if len(used) == transitSize {
				break // more service ports than transit ports: these stay node-local
			}
			h := fnv.New32a()
			h.Write([]byte(s.Namespace + "/" + s.Name + "/" + sp.Protocol + "/" + strconv.Itoa(int(sp.Port))))
			slot := int32(h.Sum32() % transitSize)
			for used[slot] {
				slot = (slot + 1) % transitSize
			}
			used[slot] = true
			ports[pi] = TransitPortMin + slot
		}
		out[s.Key()] = ports
	}
	return out
}

// cluster is what the service routes need of the inventory: this node's
// address, the other nodes' addresses, and the transit ports. It is nil on
// a single node (or an inventory without addresses), where services route
// to local pods only, as before.
type cluster struct {
	self    string            // this node's address
	addrs   map[string]string // other node name -> address
	cidrs   map[string]netip.Prefix
	transit map[string][]int32
	peers   map[string]PeerReadiness
}

func newCluster(d Desired, inventory []plan.Node) *cluster {
	c := &cluster{addrs: map[string]string{}, cidrs: map[string]netip.Prefix{}}
	for _, n := range inventory {
		if p, err := netip.ParsePrefix(n.PodCIDR); err == nil {
			c.cidrs[n.Name] = p.Masked()
		}
		switch {
		case n.Address == "":
		case n.Name == d.Node:
			c.self = n.Address
		default:
			c.addrs[n.Name] = n.Address
		}
	}
	if len(c.addrs) == 0 {
		return nil
	}
	c.transit = TransitPorts(d.Services)
	c.peers = d.Peers
	return c
}

// port is the transit port of a service port (0: none).
func (c *cluster) port(svc *plan.Service, pi int) int32 {
	if ps := c.transit[svc.Key()]; pi < len(ps) {
		return ps[pi]
	}
	return 0
}

// remoteBackends are one Backend per other node the plan puts endpoints
// of svc on (serving service port pi), reached at that node's address
// and the transit port, weighted by its number of endpoints, or, when
// the node's readiness is known (c.peers), by its ready pods (none when
// it does not answer). Nodes come in name order, so the result is stable.
func (c *cluster) remoteBackends(svc *plan.Service, remote []*plan.Endpoint, pi int) []nodes.Backend {
	tp := c.port(svc, pi)
	if tp == 0 {
		return nil
	}
	count := map[string]uint32{}
	var names []string
	for _, ep := range remote {
		addr := c.addrs[ep.Node]
		if addr == "" {
			continue // a node without an address cannot be reached
		}
		if svc.Ports[pi].TargetPort == 0 && (pi >= len(ep.Ports) || ep.Ports[pi] == 0) {
			continue // a named port the pod does not declare
		}
		if count[ep.Node] == 0 {
			names = append(names, ep.Node)
		}
		count[ep.Node]++
	}
	sort.Strings(names)
	out := make([]nodes.Backend, 0, len(names))
	for _, n := range names {
		w := count[n]
		if p, known := c.peers[n]; known {
			// What the node said it has ready, never more than the plan
			// puts there (a node cannot draw more than its share); nothing
			// to a node that does not answer.
			w = 0
			if p.Reachable {
				w = uint32(min(max(0, p.Ready[svc.Key()]), int(count[n])))
			}
		}
		if w > 0 {
			out = append(out, nodes.Backend{IP: c.addrs[n], Port: tp, Weight: w, Remote: true})
		}
	}
	return out
}

// remoteReady are the ready pods of headless svc on the other nodes, as
// they told them (gossip): on each node that answers, at most as many as
// the plan places there (its planned pods first, then any other, say an
// old revision's mid-rollout), and only at addresses of that node's pod
// CIDR, so a node can answer for its own pods only. A node this one
// has not heard from has none here: only it knows its pods' addresses.
func (c *cluster) remoteReady(svc *plan.Service, remote []*plan.Endpoint) []nodes.ReadyPod {
	planned := map[string][]*plan.Endpoint{}
	var names []string
	for _, ep := range remote {
		if planned[ep.Node] == nil {
			names = append(names, ep.Node)
		}
		planned[ep.Node] = append(planned[ep.Node], ep)
	}
	sort.Strings(names)
	var out []nodes.ReadyPod
	for _, n := range names {
		p, known := c.peers[n]
		cidr, ok := c.cidrs[n]
		told := p.Headless[svc.Key()]
		if !known || !p.Reachable || !ok || len(told) == 0 {
			continue
		}
		eps := planned[n]
		byPod := make(map[string]*plan.Endpoint, len(eps))
		for _, ep := range eps {
			byPod[ep.Pod] = ep
		}
		pods := slices.Sorted(maps.Keys(told))
		slices.SortStableFunc(pods, func(a, b string) int {
			_, pa := byPod[svc.Namespace+"/"+a]
			_, pb := byPod[svc.Namespace+"/"+b]
			return cmpBool(pb, pa)
		})
		taken := 0
		for _, name := range pods {
			if taken == len(eps) {
				break
			}
			ip, err := netip.ParseAddr(told[name])
			if err != nil || !cidr.Contains(ip) {
				continue
			}
			key := svc.Namespace + "/" + name
			ep := byPod[key]
			if ep == nil {
				ep = eps[0] // the same workload, most likely: its ports
			}
			out = append(out, nodes.ReadyPod{Pod: key, IP: ip.String(), Ports: targetPorts(svc, ep.Ports), Node: n})
			taken++
		}
	}
	return out
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// transitRoute answers svc's transit ports on this node's address with
// this node's own backends only (never remote ones: no loops). local are
// the local backends of each service port.
func (c *cluster) transitRoute(svc *plan.Service, local [][]nodes.Backend) (nodes.ServiceRoute, bool) {
	if c.self == "" {
		return nodes.ServiceRoute{}, false
	}
	r := nodes.ServiceRoute{Namespace: svc.Namespace, Name: svc.Name + TransitSuffix, ExternalIPs: []string{c.self}}
	for pi, sp := range svc.Ports {
		tp := c.port(svc, pi)
		if tp == 0 {
			continue
		}
		rp := nodes.RoutePort{Name: sp.Name, Protocol: sp.Protocol, Port: tp}
		if pi < len(local) {
			rp.Backends = local[pi]
		}
		r.Ports = append(r.Ports, rp)
	}
	return r, len(r.Ports) > 0
}

// mergeWeights puts local and remote backends of one port on one scale,
// so that every pod in the cluster weighs the same: a local pod weighs
// its share (1 without group weights), a remote node its endpoint count
// times the mean local share. Weights are then reduced by their greatest
// common divisor (without group weights: 1 per local pod, the endpoint
// count per node).
func mergeWeights(local, remote []nodes.Backend) []nodes.Backend {
	if len(remote) == 0 {
		return local
	}
	var sum uint64
	for _, b := range local {
		sum += uint64(b.Weight)
	}
	n := uint64(len(local))
	if n == 0 || sum == 0 {
		n, sum = 1, 1
	}
	w := make([]uint64, 0, len(local)+len(remote))
	for _, b := range local {
		w = append(w, uint64(b.Weight)*n)
	}
	for _, b := range remote {
		w = append(w, uint64(b.Weight)*sum)
	}
	var g, top uint64
	for _, x := range w {
		g = gcd64(g, x)
		top = max(top, x)
	}
	if g == 0 {
		g = 1
	}
	// Keep within uint32: scale down, never to 0 for a weighted backend.
	div := g
	if top/g > math.MaxUint32>>1 {
		div = top / (math.MaxUint32 >> 1)
	}
	out := make([]nodes.Backend, 0, len(w))
	for i, b := range append(append([]nodes.Backend(nil), local...), remote...) {
		v := w[i] / div
		if v == 0 && w[i] > 0 {
			v = 1
		}
		b.Weight = uint32(v)
		out = append(out, b)
	}
	return out
}

func gcd64(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// inventory is the plan's node inventory as Desired carries it.
func inventory(d Desired) []plan.Node { return d.Nodes }
