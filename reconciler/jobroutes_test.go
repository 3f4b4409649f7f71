package reconciler

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// workersService is a headless Service selecting the pods of the Job
// "batch" (mkPod's label app=batch).
func workersService() plan.Service {
	return plan.Service{Namespace: "default", Name: "workers", ClusterIP: "None", Selector: map[string]string{"app": "batch"},
		Ports: []plan.ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 8080}}}
}

// An Indexed Job's ready pods are the endpoints of a headless Service
// that selects them (the plan has none: the node names them at run
// time), and with the Service as the template's subdomain each answers
// as <job>-<index>.<service>, as in Kubernetes.
func TestJobPodsInHeadlessService(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 2, Parallelism: 2, BackoffLimit: 6, Indexed: true})
	p.Workloads[0].Template.Spec.Subdomain = "workers"
	p.Services = []plan.Service{workersService()}
	e.pass(p)
	e.pass(p)
	r, ok := e.router.Route("default/workers")
	if !ok {
		t.Fatal("no route for workers")
	}
	var hosts []string
	for _, h := range r.Hosts {
		hosts = append(hosts, h.Host)
	}
	if len(r.Ready) != 2 || !slices.Equal(hosts, []string{"batch-0", "batch-1"}) {
		t.Fatalf("ready %+v, hosts %+v; want both indexes as batch-0 and batch-1", r.Ready, r.Hosts)
	}
	for _, rp := range r.Ready {
		if !slices.Equal(rp.Ports, []int32{8080}) || rp.Node != "" {
			t.Errorf("ready pod %+v", rp)
		}
	}
}

// Another node's Job pods come from what that node told, capped at the
// Job's parallelism and to its pod CIDR, with an Indexed pod's host name
// from its name; a template without the subdomain gives no host names.
func TestJobPodsInHeadlessServiceRemote(t *testing.T) {
	tmpl := mkPod("Job", "batch", "abcdef", 0)
	tmpl.Spec.Subdomain = "workers"
	w := plan.Workload{Kind: "Job", Namespace: "default", Name: "batch", Revision: "abcdef", Template: &tmpl, Node: "n2",
		Job: &plan.Job{Completions: 3, Parallelism: 2, Indexed: true}}
	inv := []plan.Node{{Name: "n1", Address: "192.168.77.11", PodCIDR: "10.77.1.0/24"}, {Name: "n2", Address: "192.168.77.12", PodCIDR: "10.77.2.0/24"}}
	p := &plan.Plan{Revision: "r", Services: []plan.Service{workersService()}, Workloads: []plan.Workload{w},
		Nodes: []plan.NodePlan{{Node: inv[0]}, {Node: inv[1]}}}
	d := DesiredFor(p, "n1")
	d.Peers = map[string]PeerReadiness{"n2": {Reachable: true, Headless: map[string]map[string]string{"default/workers": {
		"batch-0-aaaaa": "10.77.2.5", "batch-1-bbbbb": "10.77.2.6", "batch-2-ccccc": "10.77.2.7", "other-x": "10.77.2.8", "batch-3-ddddd": "192.0.2.1"}}}}
	got := ClusterRoutes(d, inv, nodes.NodeState{}, State{}, nil)
	var r nodes.ServiceRoute
	for _, rt := range got {
		if rt.Name == "workers" {
			r = rt
		}
	}
	var pods []string
	for _, rp := range r.Ready {
		pods = append(pods, rp.Pod+"@"+rp.Node)
	}
	if want := []string{"default/batch-0-aaaaa@n2", "default/batch-1-bbbbb@n2"}; !slices.Equal(pods, want) {
		t.Fatalf("ready %v, want %v", pods, want)
	}
	want := []nodes.HostAddr{{Host: "batch-0", IP: "10.77.2.5"}, {Host: "batch-1", IP: "10.77.2.6"}}
	if !reflect.DeepEqual(r.Hosts, want) {
		t.Errorf("hosts %+v, want %+v", r.Hosts, want)
	}
	p.Workloads[0].Template.Spec.Subdomain = ""
	d = DesiredFor(p, "n1")
	d.Peers = map[string]PeerReadiness{"n2": {Reachable: true, Headless: map[string]map[string]string{"default/workers": {"batch-0-aaaaa": "10.77.2.5"}}}}
	for _, rt := range ClusterRoutes(d, inv, nodes.NodeState{}, State{}, nil) {
		if rt.Name == "workers" && (len(rt.Ready) != 1 || len(rt.Hosts) != 0 || !strings.HasPrefix(rt.Ready[0].Pod, "default/batch-0")) {
			t.Errorf("without the subdomain: ready %+v hosts %+v", rt.Ready, rt.Hosts)
		}
	}
}
