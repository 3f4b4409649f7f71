package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/internal/testneed"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/containerd"
	"berth.dev/berth/nodes/fake"
	"berth.dev/berth/nodes/iptables"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/store"
)

// The real node of these tests has names of its own, so it never meets
// the pods, bridge or chains of e2e_test.go or of other packages' tests
// running at the same time.
const (
	realNamespace = "berthtest-e2e-real"
	realBridge    = "be2e0"
	realCIDR      = "10.74.0.0/16"
	realChains    = "BE2E"
	// clusterIP is the Service's address; the router's OUTPUT DNAT sends
	// the host's connections to it on to the pods on the bridge.
	clusterIP = "10.96.74.1"
)

// realNode is a reconciler on the real containerd driver and, when asked,
// the real iptables router in the host network namespace (the pods'
// bridge lives there, so the host reaches a ClusterIP through OUTPUT).
type realNode struct {
	t      *testing.T
	rt     *containerd.Runtime
	router *iptables.Router // nil: a fake router
	rec    *reconciler.Reconciler
}

type realOpts struct {
	router bool
	clock  reconciler.Clock
}

// newRealNode starts the node, after removing what a crashed earlier run
// left behind; pods and chains are removed at the end, even on failure.
func newRealNode(t *testing.T, o realOpts) *realNode {
	t.Helper()
	testneed.Env(t, "integration", missing)
	lockRealNode(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// BERTH_E2E_LOG=1 go test -v: the reconciler's and drivers' logs.
	if testing.Verbose() && os.Getenv("BERTH_E2E_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	dir := t.TempDir()
	n := &realNode{t: t}
	var router reconciler.Router = &fake.Router{}
	// The daemon's drainer (the iptables router): a pod out of the
	// service rules finishes the requests it is serving before its stop.
	var drainer reconciler.Drainer
	if o.router {
		r, err := iptables.New(iptables.Options{ChainPrefix: realChains, NoSysctls: true, Logger: log})
		if err != nil {
			t.Fatalf("iptables router: %v", err)
		}
		n.router, router, drainer = r, r, r
		cleanupRouter := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := r.Cleanup(ctx); err != nil {
				t.Errorf("router cleanup: %v", err)
			}
		}
		cleanupRouter()
		t.Cleanup(cleanupRouter)
	}
	rt, err := containerd.New(context.Background(), containerd.Options{
		Address: os.Getenv("BERTH_TEST_CONTAINERD"), Namespace: realNamespace,
		StateDir: dir, RunDir: dir + "/run", InsecureRegistries: []string{os.Getenv("BERTH_TEST_REGISTRY")},
		Bridge: realBridge, PodCIDR: realCIDR, Logger: log,
		BackoffBase: 200 * time.Millisecond, BackoffMax: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.rt = rt
	n.removeAll()
	t.Cleanup(func() {
		n.removeAll()
		rt.Close()
	})
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n.rec = reconciler.New(reconciler.Options{Runtime: rt, Router: router, Drainer: drainer, Store: db, Node: "n1", Logger: log,
		Clock: o.clock, RetryDelay: 100 * time.Millisecond})
	return n
}

// lockRealNode serializes the tests that use the real node across
// processes: the names above are fixed (so a later run cleans up after a
// crashed one), so two `go test` runs of this package at once would remove
// each other's pods and chains.
func lockRealNode(t *testing.T) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "berth-e2e-real.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("lock %s: %v", path, err)
	}
	deadline := time.Now().Add(4 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			t.Fatalf("lock %s (held by another run of this package?): %v", path, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Registered first, so it runs last: after the pods and chains are gone.
	t.Cleanup(func() { f.Close() })
}

func (n *realNode) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := n.rt.Observe(ctx)
	if err != nil {
		n.t.Errorf("observe for cleanup: %v", err)
		return
	}
	for _, p := range st.Pods {
		if err := n.rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
			n.t.Errorf("remove %s: %v", p.Key(), err)
		}
	}
}

// workload is the status of the plan's only workload (zero before the
// first pass).
func (n *realNode) workload() reconciler.WorkloadStatus {
	if ws := n.rec.Status().Workloads; len(ws) > 0 {
		return ws[0]
	}
	return reconciler.WorkloadStatus{}
}

func (n *realNode) observe() nodes.NodeState {
	n.t.Helper()
	st, err := n.rt.Observe(context.Background())
	if err != nil {
		n.t.Fatal(err)
	}
	return st
}

// pass runs one reconcile; a failed pass is logged (the next one retries).
func (n *realNode) pass(p *plan.Plan) reconciler.Result {
	res, err := n.rec.Reconcile(context.Background(), p, "")
	if err != nil {
		n.t.Logf("pass: %v", err)
	}
	return res
}

// converge reconciles until the node converges.
func (n *realNode) converge(p *plan.Plan, timeout time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res := n.pass(p)
		if res.Converged {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("not converged after %s: waiting for %v; events %+v", timeout, res.Waiting, n.rec.Status().Events)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// until reconciles until cond holds.
func (n *realNode) until(p *plan.Plan, timeout time.Duration, what string, cond func() bool) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			n.t.Fatalf("timed out waiting for %s; status %+v", what, n.rec.Status())
		}
		n.pass(p)
		time.Sleep(200 * time.Millisecond)
	}
}

// helloPod is the demo's hello server on 8080 answering "hello from POD
// (REV)"; the shell stays PID 1 so SIGTERM stops it at once.
func helloPod(kind, rev string, i int) plan.Pod {
	name := fmt.Sprintf("web-%s-%d", rev, i)
	script := fmt.Sprintf(`mkdir -p /tmp/www && echo "hello from %s (%s)" > /tmp/www/index.html && `+
		`httpd -f -p 8080 -h /tmp/www & pid=$!; trap 'kill $pid; exit 0' TERM INT; wait $pid`, name, rev)
	return plan.Pod{
		Namespace: "default", Name: name, Labels: map[string]string{"app": "web"},
		Owner: plan.Owner{Kind: kind, Name: "web"}, Revision: rev, Hash: "web-" + rev,
		Spec: plan.PodSpec{RestartPolicy: "Always", TerminationGracePeriodSeconds: 2, Containers: []plan.Container{{
			Name: "hello", Image: image, ImagePullPolicy: "IfNotPresent",
			Command:        []string{"sh", "-c", script},
			Ports:          []plan.ContainerPort{{ContainerPort: 8080, Protocol: "TCP"}},
			ReadinessProbe: &plan.Probe{TCPSocket: &plan.TCPSocketAction{Port: plan.IntOrString{IntVal: 8080}}, PeriodSeconds: 1},
		}}},
	}
}

// helloPlan is workload web (kind, strategy s) at rev with replicas pods
// behind Service web on clusterIP:80.
func helloPlan(kind, rev string, replicas int, s plan.Strategy) *plan.Plan {
	w := plan.Workload{Kind: kind, Namespace: "default", Name: "web", Revision: rev, Replicas: int32(replicas), Strategy: s}
	svc := plan.Service{Namespace: "default", Name: "web", Type: "ClusterIP", ClusterIP: clusterIP,
		Ports: []plan.ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 8080}}}
	var pods []plan.Pod
	for i := range replicas {
		p := helloPod(kind, rev, i)
		pods = append(pods, p)
		svc.Endpoints = append(svc.Endpoints, plan.Endpoint{Pod: p.Key(), Node: "n1", Ports: []int32{8080}})
	}
	return &plan.Plan{Revision: "r-" + rev, Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}, Pods: pods}},
		Workloads: []plan.Workload{w}, Services: []plan.Service{svc}}
}

// answer is the outcome of one request to the ClusterIP.
type answer struct {
	at   time.Time
	body string // "hello from POD (REV)"
	err  error
}

func (a answer) refused() bool { return errors.Is(a.err, syscall.ECONNREFUSED) }

// hung: the request timed out instead of being answered or refused.
func (a answer) hung() bool {
	var ne net.Error
	return errors.As(a.err, &ne) && ne.Timeout()
}

// kind names the failure: refused, hung, or the error.
func (a answer) kind() string {
	switch {
	case a.err == nil:
		return "ok"
	case a.refused():
		return "refused"
	case a.hung():
		return "hung"
	}
	return a.err.Error()
}

// rev is the revision that answered ("" on error).
func (a answer) rev() string {
	i, j := strings.LastIndexByte(a.body, '('), strings.LastIndexByte(a.body, ')')
	if a.err != nil || i < 0 || j < i {
		return ""
	}
	return a.body[i+1 : j]
}

// client makes a new connection per request, so each one is balanced by
// the service rules afresh; a refused connection fails at once, and the
// timeout catches one that would hang.
func client() *http.Client {
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, Proxy: nil,
		DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
	}}
}

func ask(c *http.Client, url string) answer {
	a := answer{at: time.Now()}
	resp, err := c.Get(url)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a.body, a.err = strings.TrimSpace(string(b)), err
	if err == nil && resp.StatusCode != http.StatusOK {
		a.err = fmt.Errorf("status %s", resp.Status)
	}
	return a
}

// load sends requests to the ClusterIP from workers goroutines until stop
// is called, which returns every answer in the order the requests started
// (stop may be called again, by a deferred call after a failure).
func load(workers int) (stop func() []answer) {
	var (
		mu   sync.Mutex
		out  []answer
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	url := "http://" + clusterIP + ":80/"
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client()
			for {
				select {
				case <-done:
					return
				default:
				}
				a := ask(c, url)
				mu.Lock()
				out = append(out, a)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	var once sync.Once
	return func() []answer {
		once.Do(func() { close(done) })
		wg.Wait()
		slices.SortFunc(out, func(a, b answer) int { return a.at.Compare(b.at) })
		return out
	}
}

// sample makes n sequential requests to the ClusterIP.
func sample(n int) []answer {
	c := client()
	out := make([]answer, 0, n)
	for range n {
		out = append(out, ask(c, "http://"+clusterIP+":80/"))
	}
	return out
}
