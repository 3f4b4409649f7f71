package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/internal/testneed"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/containerd"
	"berth.dev/berth/nodes/fake"
	"berth.dev/berth/nodes/testimage"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/store"
)

var (
	image   string
	missing string
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		missing = "not root"
	} else {
		ref, why, err := testimage.FromEnv(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "publish test image:", err)
			os.Exit(1)
		}
		image, missing = ref, why
	}
	os.Exit(m.Run())
}

// node is a reconciler on the real containerd driver with a fake router
// (the iptables router is tested in its own network namespaces).
type node struct {
	t      *testing.T
	dir    string
	db     *store.DB
	rt     *containerd.Runtime
	router *fake.Router
	rec    *reconciler.Reconciler
}

func newNode(t *testing.T) *node {
	testneed.Env(t, "integration", missing)
	n := &node{t: t, dir: t.TempDir(), router: &fake.Router{}}
	n.start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		st, _ := n.rt.Observe(ctx)
		for _, p := range st.Pods {
			if err := n.rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
				t.Errorf("remove %s: %v", p.Key(), err)
			}
		}
		n.stop()
	})
	return n
}

// start opens the driver (which adopts the pods already running) and the
// store, as a daemon starting up.
func (n *node) start() {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := containerd.New(context.Background(), containerd.Options{
		Address: os.Getenv("BERTH_TEST_CONTAINERD"), Namespace: "berthtest-reconciler",
		StateDir: n.dir, RunDir: n.dir + "/run", InsecureRegistries: []string{os.Getenv("BERTH_TEST_REGISTRY")},
		Bridge: "berthtest5", PodCIDR: "10.99.5.0/24", Logger: log,
		BackoffBase: 200 * time.Millisecond, BackoffMax: 2 * time.Second,
	})
	if err != nil {
		n.t.Fatal(err)
	}
	db, err := store.Open(n.dir)
	if err != nil {
		n.t.Fatal(err)
	}
	n.rt, n.db = rt, db
	n.rec = reconciler.New(reconciler.Options{Runtime: rt, Router: n.router, Store: db, Node: "n1", Logger: log, RetryDelay: 100 * time.Millisecond})
}

// stop is the daemon going away: the containers keep running.
func (n *node) stop() {
	n.rt.Close()
	n.db.Close()
}

// converge reconciles until the node converges; each pass's pod set is
// handed to check.
func (n *node) converge(p *plan.Plan, timeout time.Duration, check func(nodes.NodeState)) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	var last reconciler.Result
	for time.Now().Before(deadline) {
		res, err := n.rec.Reconcile(context.Background(), p, "")
		if err != nil {
			n.t.Logf("pass: %v", err)
		}
		st, err := n.rt.Observe(context.Background())
		if err != nil {
			n.t.Fatal(err)
		}
		if check != nil {
			check(st)
		}
		if res.Converged {
			return
		}
		last = res
		time.Sleep(200 * time.Millisecond)
	}
	n.t.Fatalf("not converged after %s: waiting for %v; events %+v", timeout, last.Waiting, n.rec.Status().Events)
}

func web(rev string, replicas int) (plan.Workload, []plan.Pod) {
	w := plan.Workload{Kind: "Deployment", Namespace: "default", Name: "web", Revision: rev, Replicas: int32(replicas),
		Strategy: plan.Strategy{Type: "RollingUpdate", MaxSurge: 1, MaxUnavailable: 0, ProgressDeadlineSeconds: 120}}
	var pods []plan.Pod
	for i := range replicas {
		pods = append(pods, plan.Pod{
			Namespace: "default", Name: fmt.Sprintf("web-%s-%d", rev, i), Owner: plan.Owner{Kind: "Deployment", Name: "web"},
			Revision: rev, Hash: "web-" + rev,
			Spec: plan.PodSpec{RestartPolicy: "Always", TerminationGracePeriodSeconds: 1, Containers: []plan.Container{{
				Name: "httpd", Image: image, ImagePullPolicy: "IfNotPresent",
				Command:        []string{"sh", "-c", "mkdir -p /tmp/www && echo " + rev + " > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"},
				Ports:          []plan.ContainerPort{{ContainerPort: 8080, Protocol: "TCP"}},
				ReadinessProbe: &plan.Probe{TCPSocket: &plan.TCPSocketAction{Port: plan.IntOrString{IntVal: 8080}}, PeriodSeconds: 1},
			}}},
		})
	}
	return w, pods
}

func webPlan(rev string) *plan.Plan {
	w, pods := web(rev, 2)
	svc := plan.Service{Namespace: "default", Name: "web", Type: "ClusterIP", ClusterIP: "10.96.55.1",
		Ports: []plan.ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 8080}}}
	for _, p := range pods {
		svc.Endpoints = append(svc.Endpoints, plan.Endpoint{Pod: p.Key(), Node: "n1", Ports: []int32{8080}})
	}
	return &plan.Plan{Revision: "r-" + rev, Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}, Pods: pods}},
		Workloads: []plan.Workload{w}, Services: []plan.Service{svc}}
}

func get(t *testing.T, ip string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + ip + ":8080/")
	if err != nil {
		t.Fatalf("GET %s: %v", ip, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// TestRollingUpdateOnContainerd: never fewer than 2 ready pods (maxSurge
// 1, maxUnavailable 0), then only the new revision, serving, routed.
func TestRollingUpdateOnContainerd(t *testing.T) {
	n := newNode(t)
	n.converge(webPlan("a"), 90*time.Second, nil)
	seen := map[string]bool{}
	n.converge(webPlan("b"), 90*time.Second, func(st nodes.NodeState) {
		ready := 0
		var names []string
		for _, p := range st.Pods {
			names = append(names, p.Name)
			if p.Ready {
				ready++
			}
		}
		seen[strings.Join(names, ",")] = true
		if ready < 2 {
			t.Errorf("only %d ready pods: %v", ready, names)
		}
		if len(st.Pods) > 3 {
			t.Errorf("surge exceeded: %v", names)
		}
	})
	st, _ := n.rt.Observe(context.Background())
	var names, ips []string
	for _, p := range st.Pods {
		names = append(names, p.Name)
		ips = append(ips, p.IP)
		if got := get(t, p.IP); got != "b" {
			t.Errorf("%s serves %q, want b", p.Name, got)
		}
	}
	if !slices.Equal(names, []string{"web-b-0", "web-b-1"}) {
		t.Fatalf("pods %v", names)
	}
	r, _ := n.router.Route("default/web")
	var backends []string
	for _, b := range r.Ports[0].Backends {
		backends = append(backends, b.IP)
	}
	slices.Sort(ips)
	slices.Sort(backends)
	if !slices.Equal(ips, backends) {
		t.Fatalf("backends %v, want %v", backends, ips)
	}
	t.Logf("pod sets seen: %d", len(seen))
}

// TestJobOnContainerd: completions 2, parallelism 1; finished pods are
// kept, with their status, and the Job does not run again.
func TestJobOnContainerd(t *testing.T) {
	n := newNode(t)
	tmpl := plan.Pod{Namespace: "default", Name: "batch", Hash: "batch-1", Owner: plan.Owner{Kind: "Job", Name: "batch"},
		Spec: plan.PodSpec{RestartPolicy: "Never", TerminationGracePeriodSeconds: 1, Containers: []plan.Container{{
			Name: "work", Image: image, ImagePullPolicy: "IfNotPresent", Command: []string{"sh", "-c", "echo done"}}}}}
	p := &plan.Plan{Revision: "r1", Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}}}, Workloads: []plan.Workload{{
		Kind: "Job", Namespace: "default", Name: "batch", Revision: "abcdef", Node: "n1", Template: &tmpl,
		Job: &plan.Job{Completions: 2, Parallelism: 1, BackoffLimit: 2}}}}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := n.rec.Reconcile(context.Background(), p, ""); err != nil {
			t.Logf("pass: %v", err)
		}
		st := n.rec.Status()
		if w := st.Workloads[0]; w.Phase == reconciler.JobComplete {
			if w.Succeeded != 2 {
				t.Fatalf("job status %+v", w)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not complete: %+v; events %+v", st.Workloads, st.Events)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for range 3 {
		if _, err := n.rec.Reconcile(context.Background(), p, ""); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := n.rt.Observe(context.Background())
	var names []string
	for _, pod := range st.Pods {
		names = append(names, pod.Name+":"+pod.Phase)
	}
	if want := []string{"batch-abcde-0:Succeeded", "batch-abcde-1:Succeeded"}; !slices.Equal(names, want) {
		t.Fatalf("pods %v, want %v", names, want)
	}
}

// TestRestartMidRollout: the daemon dies after the first step of a rolling
// update; restarted, it finishes the rollout without redoing that step.
func TestRestartMidRollout(t *testing.T) {
	n := newNode(t)
	n.converge(webPlan("a"), 90*time.Second, nil)
	p := webPlan("b")
	var first nodes.PodStatus
	deadline := time.Now().Add(90 * time.Second)
	for first.Name == "" {
		if time.Now().After(deadline) {
			t.Fatal("web-b-0 never became ready")
		}
		if _, err := n.rec.Reconcile(context.Background(), p, ""); err != nil {
			t.Logf("pass: %v", err)
		}
		st, _ := n.rt.Observe(context.Background())
		if b0 := st.Pod("default/web-b-0"); b0 != nil && b0.Ready {
			first = *b0
		}
		time.Sleep(200 * time.Millisecond)
	}
	n.stop()
	n.start()
	n.converge(p, 90*time.Second, nil)
	st, _ := n.rt.Observe(context.Background())
	b0 := st.Pod("default/web-b-0")
	if b0 == nil || !b0.StartedAt.Equal(first.StartedAt) || b0.Restarts() != first.Restarts() {
		t.Fatalf("web-b-0 was redone: before %+v, after %+v", first, b0)
	}
	if st.Pod("default/web-b-1") == nil || len(st.Pods) != 2 {
		t.Fatalf("rollout not finished: %+v", st.Pods)
	}
}

// until reconciles until cond holds.
func (n *node) until(p *plan.Plan, timeout time.Duration, what string, cond func() bool) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			n.t.Fatalf("timed out waiting for %s; status %+v", what, n.rec.Status())
		}
		if _, err := n.rec.Reconcile(context.Background(), p, ""); err != nil {
			n.t.Logf("pass: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// backendRevs maps a service's backends to the revision their pods serve.
func (n *node) backendRevs(svc string) []string {
	r, ok := n.router.Route("default/" + svc)
	if !ok {
		return nil
	}
	var out []string
	for _, b := range r.Ports[0].Backends {
		out = append(out, get(n.t, b.IP))
	}
	slices.Sort(out)
	return out
}

func blueGreenPlan(rev string) *plan.Plan {
	p := webPlan(rev)
	w := &p.Workloads[0]
	w.Kind = "Rollout"
	w.Strategy = plan.Strategy{Type: "BlueGreen", BlueGreen: &plan.BlueGreen{ActiveService: "web", PreviewService: "web-preview", ScaleDownDelaySeconds: 600}}
	for i := range p.Nodes[0].Pods {
		p.Nodes[0].Pods[i].Owner.Kind = "Rollout"
	}
	preview := p.Services[0]
	preview.Name, preview.ClusterIP = "web-preview", "10.96.55.2"
	p.Services = append(p.Services, preview)
	return p
}

// TestBlueGreenOnContainerd: preview on the new revision while active
// stays; promote switches; abort switches back at once.
func TestBlueGreenOnContainerd(t *testing.T) {
	n := newNode(t)
	n.converge(blueGreenPlan("a"), 90*time.Second, nil)
	p := blueGreenPlan("b")
	phase := func() string { return n.rec.Status().Workloads[0].Phase }
	n.until(p, 90*time.Second, "paused for promotion", func() bool { return phase() == reconciler.PhasePaused })
	if got := n.backendRevs("web"); !slices.Equal(got, []string{"a", "a"}) {
		t.Fatalf("active serves %v before promotion", got)
	}
	if got := n.backendRevs("web-preview"); !slices.Equal(got, []string{"b", "b"}) {
		t.Fatalf("preview serves %v", got)
	}
	if err := n.rec.Promote("web"); err != nil {
		t.Fatal(err)
	}
	n.until(p, 30*time.Second, "switch", func() bool { return slices.Equal(n.backendRevs("web"), []string{"b", "b"}) })
	if err := n.rec.Abort("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.rec.Reconcile(context.Background(), p, ""); err != nil {
		t.Fatal(err)
	}
	if got := n.backendRevs("web"); !slices.Equal(got, []string{"a", "a"}) {
		t.Fatalf("after abort active serves %v", got)
	}
}
