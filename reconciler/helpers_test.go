package reconciler

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/fake"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)

// mkPod is a pod of workload kind/name at revision rev.
func mkPod(kind, name, rev string, i int) plan.Pod {
	return plan.Pod{
		Namespace: "default", Name: fmt.Sprintf("%s-%s-%d", name, rev, i),
		Labels: map[string]string{"app": name}, Owner: plan.Owner{Kind: kind, Name: name},
		Revision: rev, Hash: "h-" + name + "-" + rev, ConfigHash: "c1",
		Spec: plan.PodSpec{RestartPolicy: "Always", Containers: []plan.Container{{Name: "app", Image: "img:" + rev}}},
	}
}

// deploy is a workload with its pods.
type deploy struct {
	w    plan.Workload
	pods []plan.Pod
}

func mkDeploy(kind, name, rev string, replicas int, s plan.Strategy) deploy {
	d := deploy{w: plan.Workload{Kind: kind, Namespace: "default", Name: name, Revision: rev, Replicas: int32(replicas), Strategy: s}}
	for i := range replicas {
		d.pods = append(d.pods, mkPod(kind, name, rev, i))
	}
	return d
}

// mkService routes port 80 to 8080 of the given pods.
func mkService(name string, pods []plan.Pod) plan.Service {
	s := plan.Service{Namespace: "default", Name: name, Type: "ClusterIP", ClusterIP: "10.96.0.10",
		Ports: []plan.ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 8080}}}
	for _, p := range pods {
		s.Endpoints = append(s.Endpoints, plan.Endpoint{Pod: p.Key(), Node: "n1", Ports: []int32{8080}})
	}
	return s
}

func mkPlan(rev string, ds []deploy, svcs ...plan.Service) *plan.Plan {
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Revision: rev, Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}}}, Services: svcs}
	for _, d := range ds {
		p.Workloads = append(p.Workloads, d.w)
		p.Nodes[0].Pods = append(p.Nodes[0].Pods, d.pods...)
	}
	return p
}

// env is a reconciler on the in-memory node.
type env struct {
	t      *testing.T
	clock  *fake.Clock
	rt     *fake.Runtime
	router *fake.Router
	rec    *Reconciler
	store  Store
}

func newEnv(t *testing.T) *env {
	clock := fake.NewClock(t0)
	e := &env{t: t, clock: clock, rt: fake.New(clock), router: &fake.Router{}}
	e.rec = e.reconciler(nil)
	return e
}

func (e *env) reconciler(st Store) *Reconciler {
	e.store = st
	return New(Options{Runtime: e.rt, Router: e.router, Store: st, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1})
}

func (e *env) pass(p *plan.Plan) Result {
	e.t.Helper()
	res, err := e.rec.Reconcile(context.Background(), p, "")
	if err != nil {
		e.t.Fatalf("reconcile: %v", err)
	}
	return res
}

// want asserts the names of the pods whose name starts with prefix.
func (e *env) want(prefix string, names ...string) {
	e.t.Helper()
	got := e.rt.Names(prefix)
	if !slices.Equal(got, names) && !(len(got) == 0 && len(names) == 0) {
		e.t.Fatalf("pods %s* = %v, want %v", prefix, got, names)
	}
}

func (e *env) rollout(key string) Rollout {
	e.t.Helper()
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	return e.rec.state.Rollouts[key]
}

// backends returns ip:port=weight of a service's first port.
func (e *env) backends(svc string) map[string]uint32 {
	e.t.Helper()
	r, ok := e.router.Route("default/" + svc)
	if !ok {
		e.t.Fatalf("no route for %s", svc)
	}
	out := map[string]uint32{}
	for _, b := range r.Ports[0].Backends {
		out[e.podByIP(b.IP)] = b.Weight
	}
	return out
}

func (e *env) podByIP(ip string) string {
	for _, k := range e.rt.Keys() {
		if p, _ := e.rt.Pod(k); p.IP == ip {
			return p.Name
		}
	}
	return "?" + ip
}

var _ = nodes.PhaseRunning
