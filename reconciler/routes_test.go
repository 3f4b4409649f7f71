package reconciler

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

func TestGroupShares(t *testing.T) {
	mk := func(groups ...string) []member {
		var ms []member
		for _, g := range groups {
			ms = append(ms, member{group: g})
		}
		return ms
	}
	for _, tc := range []struct {
		name    string
		live    []member
		weights map[string]int32
		want    []uint32
	}{
		{"unweighted", mk("", ""), nil, []uint32{1, 1}},
		{"20% canary among 4 stable", mk("s", "s", "s", "s", "c"), map[string]int32{"s": 80, "c": 20}, []uint32{80, 80, 80, 80, 80}},
		{"50% over 3 and 2", mk("s", "s", "s", "c", "c"), map[string]int32{"s": 50, "c": 50}, []uint32{100, 100, 100, 150, 150}},
		{"group with no ready pods gives its share away", mk("s", "s"), map[string]int32{"s": 80, "c": 20}, []uint32{80, 80}},
		{"zero-weight group only: still served", mk("c"), map[string]int32{"s": 100, "c": 0}, []uint32{1}},
		{"zero weight excluded", mk("s", "c"), map[string]int32{"s": 100, "c": 0}, []uint32{100, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := groupShares(tc.live, tc.weights)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	d := mkDeploy("Deployment", "web", "a", 2, plan.Strategy{Type: "RollingUpdate"})
	svc := mkService("web", d.pods)
	svc.Type, svc.SessionAffinity, svc.ExternalIPs, svc.LoadBalancerIP = "LoadBalancer", "ClientIP", []string{"192.0.2.1"}, "192.0.2.2"
	svc.Ports = []plan.ServicePort{{Name: "http", Protocol: "TCP", Port: 80, NodePort: 30080, TargetPortName: "http"}}
	svc.Endpoints[0].Ports = []int32{8081}
	svc.Endpoints[1].Ports = []int32{8082}
	svc.Endpoints = append(svc.Endpoints, plan.Endpoint{Pod: "default/elsewhere", Node: "n2", Ports: []int32{80}})
	bare := plan.Service{Namespace: "default", Name: "ext", Type: "ClusterIP", ClusterIP: "10.96.0.11", Selectorless: true,
		Ports: []plan.ServicePort{{Protocol: "UDP", Port: 53, TargetPort: 53}}}
	p := mkPlan("r", []deploy{d}, svc, bare)
	obs := obsOf(d.pods...)
	obs.Pods[0].IP, obs.Pods[1].IP = "10.88.0.2", "10.88.0.3"
	unready := obs
	unready.Pods = append([]nodes.PodStatus(nil), obs.Pods...)
	unready.Pods[1].Ready = false

	got := Routes(DesiredFor(p, "n1"), unready, State{}, nil)
	want := []nodes.ServiceRoute{
		{Namespace: "default", Name: "ext", ClusterIP: "10.96.0.11", Ports: []nodes.RoutePort{{Protocol: "UDP", Port: 53}}},
		{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10", ExternalIPs: []string{"192.0.2.1", "192.0.2.2"}, AffinitySeconds: 10800,
			Ports: []nodes.RoutePort{{Name: "http", Protocol: "TCP", Port: 80, NodePort: 30080,
				Backends: []nodes.Backend{{IP: "10.88.0.2", Port: 8081, Weight: 1}}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Routes:\n%+v\nwant\n%+v", got, want)
	}
	// A pod about to be removed leaves the routes first.
	got = Routes(DesiredFor(p, "n1"), obs, State{}, map[string]bool{"default/web-a-0": true})
	if b := got[1].Ports[0].Backends; len(b) != 1 || b[0].IP != "10.88.0.3" {
		t.Fatalf("backends with web-a-0 leaving: %+v", b)
	}
}

func TestTransitPorts(t *testing.T) {
	svc := func(name string, ports ...int32) plan.Service {
		s := plan.Service{Namespace: "default", Name: name}
		for _, p := range ports {
			s.Ports = append(s.Ports, plan.ServicePort{Protocol: "TCP", Port: p})
		}
		return s
	}
	var many []plan.Service
	for i := range 3000 {
		many = append(many, svc(fmt.Sprintf("s%04d", i), 80, 443, 8080, 9090))
	}
	for _, tc := range []struct {
		name string
		svcs []plan.Service
	}{
		{"one", []plan.Service{svc("web", 80)}},
		{"several ports", []plan.Service{svc("web", 80, 443), svc("api", 80)}},
		{"selectorless and portless get none", []plan.Service{svc("web", 80), {Namespace: "default", Name: "ext", Selectorless: true, Ports: []plan.ServicePort{{Port: 53}}}, svc("bare")}},
		{"more ports than transit ports", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TransitPorts(tc.svcs)
			// Input order does not matter: every node computes the same.
			rev := slices.Clone(tc.svcs)
			slices.Reverse(rev)
			if again := TransitPorts(rev); !reflect.DeepEqual(got, again) {
				t.Fatalf("depends on the order of services")
			}
			seen := map[int32]string{}
			assigned := 0
			for _, s := range tc.svcs {
				ps, ok := got[s.Key()]
				if s.Selectorless || len(s.Ports) == 0 {
					if ok {
						t.Fatalf("%s got transit ports %v", s.Key(), ps)
					}
					continue
				}
				if len(ps) != len(s.Ports) {
					t.Fatalf("%s: %d transit ports for %d ports", s.Key(), len(ps), len(s.Ports))
				}
				for i, p := range ps {
					if p == 0 {
						continue
					}
					assigned++
					if p < TransitPortMin || p > TransitPortMax {
						t.Fatalf("%s port %d: transit %d out of range", s.Key(), i, p)
					}
					if o, dup := seen[p]; dup {
						t.Fatalf("transit port %d given to %s and %s", p, o, s.Key())
					}
					seen[p] = s.Key()
				}
			}
			if want := min(transitSize, countPorts(tc.svcs)); assigned != want {
				t.Fatalf("%d transit ports assigned, want %d", assigned, want)
			}
		})
	}
	// A service's transit port does not depend on unrelated services that
	// do not collide with it.
	a := TransitPorts([]plan.Service{svc("web", 80)})["default/web"][0]
	b := TransitPorts([]plan.Service{svc("web", 80), svc("zzz", 81)})["default/web"][0]
	if a != b {
		t.Fatalf("web's transit port moved from %d to %d", a, b)
	}
}

func countPorts(svcs []plan.Service) int {
	n := 0
	for _, s := range svcs {
		if !s.Selectorless {
			n += len(s.Ports)
		}
	}
	return n
}

func TestMergeWeights(t *testing.T) {
	be := func(ip string, w uint32, remote bool) nodes.Backend {
		return nodes.Backend{IP: ip, Port: 1, Weight: w, Remote: remote}
	}
	for _, tc := range []struct {
		name          string
		local, remote []nodes.Backend
		want          []uint32
	}{
		{"no remote: unchanged", []nodes.Backend{be("a", 80, false), be("b", 20, false)}, nil, []uint32{80, 20}},
		{"unweighted: a pod is one", []nodes.Backend{be("a", 1, false), be("b", 1, false)},
			[]nodes.Backend{be("n2", 2, true), be("n3", 3, true)}, []uint32{1, 1, 2, 3}},
		{"no local pod ready", nil, []nodes.Backend{be("n2", 2, true), be("n3", 2, true)}, []uint32{1, 1}},
		{"group weights: a remote pod weighs the mean local share", []nodes.Backend{be("a", 80, false), be("b", 20, false)},
			[]nodes.Backend{be("n2", 2, true)}, []uint32{4, 1, 5}},
		{"huge weights stay within uint32", []nodes.Backend{be("a", math.MaxUint32, false), be("b", 1, false)},
			[]nodes.Backend{be("n2", 1, true)}, []uint32{2147483647, 1, 1073741824}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mergeWeights(tc.local, tc.remote)
			var ws []uint32
			for _, b := range got {
				ws = append(ws, b.Weight)
			}
			if !reflect.DeepEqual(ws, tc.want) {
				t.Fatalf("weights %v, want %v", ws, tc.want)
			}
			if len(got) != len(tc.local)+len(tc.remote) || (len(tc.remote) > 0 && !got[len(got)-1].Remote) {
				t.Fatalf("backends %+v", got)
			}
		})
	}
}

// cluster3 is a Deployment of 6 pods behind a service, 2 pods on each of
// n1, n2, n3, and the inventory.
func cluster3() (*plan.Plan, deploy, []plan.Node) {
	d := mkDeploy("Deployment", "web", "a", 6, plan.Strategy{Type: "RollingUpdate"})
	svc := mkService("web", d.pods)
	svc.Type = "NodePort"
	svc.Ports[0].NodePort = 30080
	inv := []plan.Node{{Name: "n1", Address: "192.168.77.11"}, {Name: "n2", Address: "192.168.77.12"}, {Name: "n3", Address: "192.168.77.13"}}
	p := mkPlan("r", nil, svc)
	p.Workloads = []plan.Workload{d.w}
	p.Nodes = nil
	for i, n := range inv {
		np := plan.NodePlan{Node: n, Pods: d.pods[2*i : 2*i+2]}
		p.Nodes = append(p.Nodes, np)
		for _, pod := range np.Pods {
			for j := range p.Services[0].Endpoints {
				if p.Services[0].Endpoints[j].Pod == pod.Key() {
					p.Services[0].Endpoints[j].Node = n.Name
				}
			}
		}
	}
	return p, d, inv
}

func TestClusterRoutes(t *testing.T) {
	p, d, inv := cluster3()
	tp := TransitPorts(p.Services)["default/web"][0]
	obs := obsOf(d.pods[0], d.pods[1])
	obs.Pods[0].IP, obs.Pods[1].IP = "10.77.1.2", "10.77.1.3"
	local := []nodes.Backend{{IP: "10.77.1.2", Port: 8080, Weight: 1}, {IP: "10.77.1.3", Port: 8080, Weight: 1}}
	remote := []nodes.Backend{{IP: "192.168.77.12", Port: tp, Weight: 2, Remote: true}, {IP: "192.168.77.13", Port: tp, Weight: 2, Remote: true}}
	web := nodes.ServiceRoute{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10",
		Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, NodePort: 30080, Backends: append(slices.Clone(local), remote...)}}}
	transit := nodes.ServiceRoute{Namespace: "default", Name: "web~transit", ExternalIPs: []string{"192.168.77.11"},
		Ports: []nodes.RoutePort{{Protocol: "TCP", Port: tp, Backends: local}}}

	got := ClusterRoutes(DesiredFor(p, "n1"), inv, obs, State{}, nil)
	if want := []nodes.ServiceRoute{web, transit}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ClusterRoutes:\n%+v\nwant\n%+v", got, want)
	}

	// An unready local pod leaves both routes; the other nodes keep their
	// planned weight (they balance over their own ready pods).
	unready := obsOf(d.pods[0], d.pods[1])
	unready.Pods[0].IP, unready.Pods[1].IP = "10.77.1.2", "10.77.1.3"
	unready.Pods[1].Ready = false
	got = ClusterRoutes(DesiredFor(p, "n1"), inv, unready, State{}, nil)
	if b := got[0].Ports[0].Backends; len(b) != 3 || b[0].IP != "10.77.1.2" || b[1].Weight != 2 || b[2].Weight != 2 {
		t.Fatalf("service backends with one local pod unready: %+v", b)
	}
	if b := got[1].Ports[0].Backends; len(b) != 1 || b[0].Remote {
		t.Fatalf("transit backends with one local pod unready: %+v", b)
	}

	// No local pod ready: all traffic goes to the other nodes, and the
	// transit port rejects (its backends are empty) rather than loop.
	got = ClusterRoutes(DesiredFor(p, "n1"), inv, nodes.NodeState{}, State{}, nil)
	if b := got[0].Ports[0].Backends; !reflect.DeepEqual(b, []nodes.Backend{{IP: "192.168.77.12", Port: tp, Weight: 1, Remote: true}, {IP: "192.168.77.13", Port: tp, Weight: 1, Remote: true}}) {
		t.Fatalf("backends with no local pod: %+v", b)
	}
	if len(got) != 2 || len(got[1].Ports[0].Backends) != 0 {
		t.Fatalf("transit route with no local pod: %+v", got)
	}

	// A node without an address cannot be reached; one without endpoints
	// of the service answers no transit port for it.
	noAddr := slices.Clone(inv)
	noAddr[2].Address = ""
	got = ClusterRoutes(DesiredFor(p, "n1"), noAddr, obs, State{}, nil)
	if b := got[0].Ports[0].Backends; len(b) != 3 || b[2].IP != "192.168.77.12" {
		t.Fatalf("backends with n3 unaddressed: %+v", b)
	}
	inv4 := append(slices.Clone(inv), plan.Node{Name: "n4", Address: "192.168.77.14"})
	if got := ClusterRoutes(DesiredFor(p, "n4"), inv4, nodes.NodeState{}, State{}, nil); len(got) != 1 || len(got[0].Ports[0].Backends) != 3 {
		t.Fatalf("routes on a node without pods of the service: %+v", got)
	}

	// Every node computes the same transit port, and its transit route
	// answers on its own address.
	for i, n := range inv {
		got := ClusterRoutes(DesiredFor(p, n.Name), inv, nodes.NodeState{}, State{}, nil)
		if len(got) != 2 || got[1].Ports[0].Port != tp || got[1].ExternalIPs[0] != inv[i].Address {
			t.Fatalf("node %s: %+v", n.Name, got)
		}
		for _, b := range got[0].Ports[0].Backends {
			if b.IP == n.Address {
				t.Fatalf("node %s routes to itself through its transit port: %+v", n.Name, b)
			}
		}
	}
}

// TestClusterRoutesPeerReadiness: once the other nodes' readiness is
// known, a node weighs by the pods they have ready, sends nothing to a node
// that does not answer or has none ready, and keeps the schedule's weight
// for a node it knows nothing of yet; its transit route tells LocalReady.
func TestClusterRoutesPeerReadiness(t *testing.T) {
	p, d, inv := cluster3()
	tp := TransitPorts(p.Services)["default/web"][0]
	obs := obsOf(d.pods[0], d.pods[1])
	obs.Pods[0].IP, obs.Pods[1].IP = "10.77.1.2", "10.77.1.3"
	remote := func(ip string, w uint32) nodes.Backend {
		return nodes.Backend{IP: ip, Port: tp, Weight: w, Remote: true}
	}
	n2, n3 := "192.168.77.12", "192.168.77.13"
	for _, tc := range []struct {
		name  string
		peers map[string]PeerReadiness
		want  []nodes.Backend // the remote backends
	}{
		{"unknown: the schedule", nil, []nodes.Backend{remote(n2, 2), remote(n3, 2)}},
		{"ready counts", map[string]PeerReadiness{"n2": {Reachable: true, Ready: map[string]int{"default/web": 1}},
			"n3": {Reachable: true, Ready: map[string]int{"default/web": 2}}}, []nodes.Backend{remote(n2, 1), remote(n3, 2)}},
		{"a count is capped at what the plan places there", map[string]PeerReadiness{"n2": {Reachable: true, Ready: map[string]int{"default/web": 1000}},
			"n3": {Reachable: true, Ready: map[string]int{"default/web": 2}}}, []nodes.Backend{remote(n2, 2), remote(n3, 2)}},
		{"n2 does not answer", map[string]PeerReadiness{"n2": {}, "n3": {Reachable: true, Ready: map[string]int{"default/web": 2}}},
			[]nodes.Backend{remote(n3, 2)}},
		{"n3 has none ready, n2 unknown", map[string]PeerReadiness{"n3": {Reachable: true, Ready: map[string]int{"default/other": 4}}},
			[]nodes.Backend{remote(n2, 2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dd := DesiredFor(p, "n1")
			dd.Peers = tc.peers
			got := ClusterRoutes(dd, inv, obs, State{}, nil)
			var rem []nodes.Backend
			for _, b := range got[0].Ports[0].Backends {
				if b.Remote {
					rem = append(rem, b)
				}
			}
			// Two local pods of weight 1 each: remote weights are in the
			// same unit.
			if !reflect.DeepEqual(rem, tc.want) {
				t.Errorf("remote backends %+v, want %+v", rem, tc.want)
			}
			if lr := localReady(got); !reflect.DeepEqual(lr, map[string]int{"default/web": 2}) {
				t.Errorf("localReady = %v, want 2 ready web pods", lr)
			}
		})
	}
}

// TestClusterRoutesSingleNode: an inventory of one node, or none, is
// exactly the single-node routing.
func TestClusterRoutesSingleNode(t *testing.T) {
	p, d, inv := cluster3()
	obs := obsOf(d.pods[0], d.pods[1])
	obs.Pods[0].IP, obs.Pods[1].IP = "10.77.1.2", "10.77.1.3"
	want := []nodes.ServiceRoute{{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10", Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, NodePort: 30080,
		Backends: []nodes.Backend{{IP: "10.77.1.2", Port: 8080, Weight: 1}, {IP: "10.77.1.3", Port: 8080, Weight: 1}}}}}}
	for _, in := range [][]plan.Node{nil, inv[:1], {inv[0], {Name: "n2"}, {Name: "n3"}}} {
		if got := ClusterRoutes(DesiredFor(p, "n1"), in, obs, State{}, nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("inventory %v:\n%+v\nwant\n%+v", in, got, want)
		}
	}
}

// BenchmarkClusterRoutes200 computes the routes of 20 services of 10 pods
// over 3 nodes (transit ports included).
func BenchmarkClusterRoutes200(b *testing.B) {
	p := node200()
	inv := []plan.Node{{Name: "n1", Address: "192.168.77.11"}, {Name: "n2", Address: "192.168.77.12"}, {Name: "n3", Address: "192.168.77.13"}}
	var obs nodes.NodeState
	for i := range p.Services {
		for j := range p.Services[i].Endpoints {
			p.Services[i].Endpoints[j].Node = inv[j%3].Name
		}
	}
	for _, pod := range p.Nodes[0].Pods {
		s := running(pod)
		s.IP = "10.77.1.2"
		obs.Pods = append(obs.Pods, s)
	}
	d := DesiredFor(p, "n1")
	b.ReportAllocs()
	for b.Loop() {
		if r := ClusterRoutes(d, inv, obs, State{}, nil); len(r) != 40 {
			b.Fatalf("%d routes", len(r))
		}
	}
}

// TestClusterRoutesHeadless: a headless Service's ready pods are this
// node's and those the other nodes told (PeerReadiness.Headless), each
// node's capped at what the plan places there (its planned pods first)
// and to its pod CIDR; a node that does not answer, or has not told, has
// none. LocalHeadless tells this node's own.
func TestClusterRoutesHeadless(t *testing.T) {
	p, d, inv := cluster3()
	for i := range inv {
		inv[i].PodCIDR = fmt.Sprintf("10.77.%d.0/24", i+1)
	}
	svc := &p.Services[0]
	svc.Type, svc.ClusterIP, svc.Ports[0].NodePort = "ClusterIP", "None", 0
	obs := obsOf(d.pods[0], d.pods[1])
	obs.Pods[0].IP, obs.Pods[1].IP = "10.77.1.2", "10.77.1.3"
	ready := func(pod, ip, node string) nodes.ReadyPod {
		return nodes.ReadyPod{Pod: "default/" + pod, IP: ip, Ports: []int32{8080}, Node: node}
	}
	local := []nodes.ReadyPod{ready("web-a-0", "10.77.1.2", ""), ready("web-a-1", "10.77.1.3", "")}
	told := func(pods map[string]string) map[string]map[string]string {
		return map[string]map[string]string{"default/web": pods}
	}
	for _, tc := range []struct {
		name  string
		peers map[string]PeerReadiness
		want  []nodes.ReadyPod // besides the local ones
	}{
		{"nothing told", nil, nil},
		{"both told", map[string]PeerReadiness{
			"n2": {Reachable: true, Headless: told(map[string]string{"web-a-2": "10.77.2.2", "web-a-3": "10.77.2.3"})},
			"n3": {Reachable: true, Headless: told(map[string]string{"web-a-4": "10.77.3.2"})}},
			[]nodes.ReadyPod{ready("web-a-2", "10.77.2.2", "n2"), ready("web-a-3", "10.77.2.3", "n2"), ready("web-a-4", "10.77.3.2", "n3")}},
		{"capped at the plan's two, planned pods first", map[string]PeerReadiness{
			"n2": {Reachable: true, Headless: told(map[string]string{"web-0-old": "10.77.2.9", "web-a-2": "10.77.2.2", "web-a-3": "10.77.2.3"})}},
			[]nodes.ReadyPod{ready("web-a-2", "10.77.2.2", "n2"), ready("web-a-3", "10.77.2.3", "n2")}},
		{"an old revision's pod mid-rollout", map[string]PeerReadiness{
			"n2": {Reachable: true, Headless: told(map[string]string{"web-0-old": "10.77.2.9", "web-a-2": "10.77.2.2"})}},
			[]nodes.ReadyPod{ready("web-a-2", "10.77.2.2", "n2"), ready("web-0-old", "10.77.2.9", "n2")}},
		{"only addresses of the node's pod CIDR", map[string]PeerReadiness{
			"n2": {Reachable: true, Headless: told(map[string]string{"web-a-2": "10.77.3.2", "web-a-3": "192.0.2.1"})}}, nil},
		{"a node that does not answer", map[string]PeerReadiness{
			"n2": {Headless: told(map[string]string{"web-a-2": "10.77.2.2"})}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dd := DesiredFor(p, "n1")
			dd.Peers = tc.peers
			got := ClusterRoutes(dd, inv, obs, State{}, nil)
			want := append(slices.Clone(local), tc.want...)
			slices.SortFunc(want, func(a, b nodes.ReadyPod) int { return strings.Compare(a.IP, b.IP) })
			if !reflect.DeepEqual(got[0].Ready, want) {
				t.Errorf("ready pods\n%+v\nwant\n%+v", got[0].Ready, want)
			}
			if lh := localHeadless(got); !reflect.DeepEqual(lh, map[string]map[string]string{"default/web": {"web-a-0": "10.77.1.2", "web-a-1": "10.77.1.3"}}) {
				t.Errorf("localHeadless = %v", lh)
			}
		})
	}
}

// TestClusterRoutesHeadlessHosts: the host names of a headless Service
// (the plan endpoints' hostname) cover the ready pods of every node, as
// they told them, so each node's cluster DNS answers
// <hostname>.<service> for pods it does not run; a pod without a
// hostname in the Service, or not ready anywhere, has none.
func TestClusterRoutesHeadlessHosts(t *testing.T) {
	p, d, inv := cluster3()
	for i := range inv {
		inv[i].PodCIDR = fmt.Sprintf("10.77.%d.0/24", i+1)
	}
	svc := &p.Services[0]
	svc.Type, svc.ClusterIP, svc.Ports[0].NodePort = "ClusterIP", "None", 0
	for i := range svc.Endpoints {
		if ep := &svc.Endpoints[i]; ep.Pod != "default/web-a-1" {
			ep.Hostname = strings.TrimPrefix(ep.Pod, "default/")
		}
	}
	obs := obsOf(d.pods[0], d.pods[1])
	obs.Pods[0].IP, obs.Pods[1].IP = "10.77.1.2", "10.77.1.3"
	dd := DesiredFor(p, "n1")
	dd.Peers = map[string]PeerReadiness{
		"n2": {Reachable: true, Headless: map[string]map[string]string{"default/web": {"web-a-2": "10.77.2.2"}}},
	}
	got := ClusterRoutes(dd, inv, obs, State{}, nil)[0].Hosts
	want := []nodes.HostAddr{{Host: "web-a-0", IP: "10.77.1.2"}, {Host: "web-a-2", IP: "10.77.2.2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hosts %+v, want %+v", got, want)
	}
}
