package webui

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// endpointNode is the share of a service's endpoints the plan puts on one
// node.
type endpointNode struct {
	Node      string
	Endpoints int
	// Share is the node's part of the traffic when every endpoint is
	// ready, in percent: endpoints weigh the same, or a canary's group
	// weight is split among the group's endpoints.
	Share string
}

// backendView is one backend this node programmed for a service port.
type backendView struct {
	Address string
	// Node is where the backend runs; Pod is set for this node's pods.
	Node, Pod string
	Weight    string
}

type routePortView struct {
	Port     string
	Backends []backendView
}

type serviceRow struct {
	Namespace, Name, Type, ClusterIP string
	External                         []string
	Ports                            []string
	Selectorless                     bool
	Nodes                            []endpointNode
	Routes                           []routePortView
	// Programmed is false when this node has not synced the service yet.
	Programmed bool
}

func (u *UI) services(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns, name := q.Get("ns"), strings.TrimSpace(q.Get("name"))
	p := u.opts.Loop.Plan()
	var svcs []*plan.Service
	namespaces := map[string]bool{}
	if p != nil {
		for i := range p.Services {
			s := &p.Services[i]
			namespaces[s.Namespace] = true
			if (ns == "" || s.Namespace == ns) && (name == "" || strings.Contains(s.Name, name)) {
				svcs = append(svcs, s)
			}
		}
	}
	pg, lo, hi := paginate("/ui/services", q, len(svcs))
	var routes map[string]*nodes.ServiceRoute
	if u.opts.Routes != nil {
		rs := u.opts.Routes()
		routes = make(map[string]*nodes.ServiceRoute, len(rs))
		for i := range rs {
			routes[rs[i].Key()] = &rs[i]
		}
	}
	addrNode := map[string]string{}
	if p != nil {
		for _, n := range p.Nodes {
			if n.Node.Address != "" {
				addrNode[n.Node.Address] = n.Node.Name
			}
		}
	}
	podByIP := map[string]string{}
	for _, o := range u.observe(r.Context()).Pods {
		if o.IP != "" {
			podByIP[o.IP] = o.Key()
		}
	}
	rows := make([]serviceRow, 0, hi-lo)
	for _, s := range svcs[lo:hi] {
		row := serviceRow{Namespace: s.Namespace, Name: s.Name, Type: s.Type, ClusterIP: s.ClusterIP, External: s.External(),
			Selectorless: s.Selectorless, Nodes: endpointShares(s)}
		for _, sp := range s.Ports {
			row.Ports = append(row.Ports, portString(sp))
		}
		if rt := routes[s.Key()]; rt != nil {
			row.Programmed = true
			for _, rp := range rt.Ports {
				v := routePortView{Port: fmt.Sprintf("%d/%s", rp.Port, rp.Protocol)}
				var total uint32
				for _, b := range rp.Backends {
					total += b.Weight
				}
				for _, b := range rp.Backends {
					bv := backendView{Address: fmt.Sprintf("%s:%d", b.IP, b.Port), Weight: percent(b.Weight, total)}
					if b.Remote {
						bv.Node = orDefault(addrNode[b.IP], b.IP)
					} else {
						bv.Node, bv.Pod = u.opts.Node, podByIP[b.IP]
					}
					v.Backends = append(v.Backends, bv)
				}
				row.Routes = append(row.Routes, v)
			}
		}
		rows = append(rows, row)
	}
	u.render(w, r, "services", "Services", "services", struct {
		Rows       []serviceRow
		Pager      pager
		Namespace  string
		Name       string
		Namespaces []string
	}{rows, pg, ns, name, slices.Sorted(maps.Keys(namespaces))})
}

func portString(sp plan.ServicePort) string {
	target := sp.TargetPortName
	if sp.TargetPort != 0 {
		target = fmt.Sprint(sp.TargetPort)
	}
	s := fmt.Sprintf("%d/%s → %s", sp.Port, sp.Protocol, target)
	if sp.NodePort != 0 {
		s += fmt.Sprintf(" (NodePort %d)", sp.NodePort)
	}
	if sp.Name != "" {
		s = sp.Name + " " + s
	}
	return s
}

// endpointShares is the plan's endpoints of s per node and each node's
// share of the traffic (plan.Service.GroupWeights says how groups weigh).
func endpointShares(s *plan.Service) []endpointNode {
	if len(s.Endpoints) == 0 {
		return nil
	}
	groupSize := map[string]int{}
	for _, e := range s.Endpoints {
		groupSize[e.Group]++
	}
	weight := map[string]float64{}
	for _, g := range s.GroupWeights {
		weight[g.Group] = float64(g.Percent)
	}
	count, share := map[string]int{}, map[string]float64{}
	for _, e := range s.Endpoints {
		count[e.Node]++
		if len(s.GroupWeights) == 0 {
			share[e.Node] += 100 / float64(len(s.Endpoints))
		} else {
			share[e.Node] += weight[e.Group] / float64(groupSize[e.Group])
		}
	}
	var out []endpointNode
	for _, n := range slices.Sorted(maps.Keys(count)) {
		out = append(out, endpointNode{Node: n, Endpoints: count[n], Share: trimPercent(share[n])})
	}
	return out
}

func trimPercent(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0") + "%"
}
