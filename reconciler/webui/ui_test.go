package webui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/gitops"
	"berth.dev/berth/reconciler/nodeapi"
	"berth.dev/berth/reconciler/source"
)

// fakeLoop is the loop's face with a settable status.
type fakeLoop struct {
	mu      sync.Mutex
	status  gitops.Status
	plan    *plan.Plan
	history *gitops.History
}

func (f *fakeLoop) Status() gitops.Status       { f.mu.Lock(); defer f.mu.Unlock(); return f.status }
func (f *fakeLoop) Plan() *plan.Plan            { return f.plan }
func (f *fakeLoop) History() *gitops.History    { return f.history }
func (f *fakeLoop) set(fn func(*gitops.Status)) { f.mu.Lock(); fn(&f.status); f.mu.Unlock() }

// fakePods runs every pod of the node's plan, ready, with a log.
type fakePods struct {
	state nodes.NodeState
	log   string
}

func (f *fakePods) Observe(context.Context) (nodes.NodeState, error) { return f.state, nil }
func (f *fakePods) Logs(_ context.Context, key, container string, follow, _ bool, w io.Writer) error {
	if _, err := io.WriteString(w, f.log); err != nil {
		return err
	}
	return nil
}

// compileDir compiles a directory as the daemon does.
func compileDir(t testing.TB, dir, rev string) *plan.Plan {
	t.Helper()
	p, diags, err := compiler.CompilePaths([]string{dir}, compiler.CompileOptions{Revision: rev,
		LocalNode: compiler.LocalNode{Name: "node-1"}})
	if err != nil || p == nil {
		t.Fatalf("compile %s: %v %v", dir, err, diags)
	}
	return p
}

// running is the observed state of every pod of a node's plan: running,
// ready, with one restart each.
func running(p *plan.Plan, node string) nodes.NodeState {
	var st nodes.NodeState
	for _, np := range p.Nodes {
		if np.Node.Name != node {
			continue
		}
		for i, pod := range np.Pods {
			ps := nodes.PodStatus{Namespace: pod.Namespace, Name: pod.Name, Labels: pod.Labels, Owner: pod.Owner, Revision: pod.Revision,
				Hash: pod.Hash, IP: fmt.Sprintf("10.88.%d.%d", i/250, 2+i%250), Phase: nodes.PhaseRunning, Ready: true,
				StartedAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
			for _, c := range pod.Spec.Containers {
				ps.Containers = append(ps.Containers, nodes.ContainerStatus{Name: c.Name, Image: c.Image, State: nodes.StateRunning, Ready: true, RestartCount: 1})
			}
			st.Pods = append(st.Pods, ps)
		}
	}
	return st
}

type fixture struct {
	ui   *UI
	loop *fakeLoop
	pods *fakePods
	h    http.Handler
}

// newFixture is a node running examples/web, with a history of three
// revisions (the head rejected) and a route for its Service.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir, err := filepath.Abs("../../examples/web")
	if err != nil {
		t.Fatal(err)
	}
	p := compileDir(t, dir, "c0ffee0000000000000000000000000000000002")
	hist := gitops.NewHistory("", nil)
	loop := &fakeLoop{plan: p, history: hist, status: gitops.Status{Applied: p.Revision, Head: "bad0000000000000000000000000000000000003",
		Rejected: &gitops.Rejection{Revision: "bad0000000000000000000000000000000000003"}}}
	hist.Mark("x", gitops.Applied, "") // no record: nothing happens
	st := running(p, "node-1")
	pods := &fakePods{state: st, log: "line 1\nline 2\nGET / 200\n"}
	status := reconciler.Summarize(reconciler.DesiredFor(p, "node-1"), st, reconciler.State{}, time.Now())
	status.Events = []reconciler.Event{{Time: time.Now(), Object: "Deployment/default/web", Action: "create", Target: "default/web-abc", Reason: "rolling update", Result: "ok"}}
	routes := reconciler.Routes(reconciler.DesiredFor(p, "node-1"), st, reconciler.State{}, nil)
	u, err := New(Options{Node: "node-1", Loop: loop, Pods: pods,
		Status: func() (reconciler.Status, bool) { return status, true },
		Routes: func() []nodes.ServiceRoute { return routes },
		Cluster: func() []nodeapi.NodeSummary {
			return []nodeapi.NodeSummary{{Node: "node-1", Answers: true}, {Node: "node-2"}}
		},
		Snapshot: func(string) (string, bool) { return dir, true }, LiveInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ui: u, loop: loop, pods: pods, h: u}
}

func (f *fixture) get(t testing.TB, path string, hdr ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// secrets are examples/web's Secret values, plain and base64, and the
// prefix of a redacted digest: no page may show any of them.
var secrets = []string{"hunter2", "s3cr3t-token", "czNjcjN0LXRva2Vu", "sensitive sha256"}

func TestPages(t *testing.T) {
	f := newFixture(t)
	pod := f.loop.plan.Nodes[0].Pods[0]
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/ui/", []string{"<h1>Fleet</h1>", "node-1", "this node", "node-2", "? unknown", "no answer", "Rejected revision <code>bad000000000</code>"}},
		{"/ui/history", []string{"Revision history", "No revision fetched yet."}},
		{"/ui/workloads", []string{"Deployment default/web", "3 / 3", "node-1: 3", "rolling update", "✓ ready"}},
		{"/ui/workloads?ns=default&label=app%3Dweb", []string{"Deployment default/web"}},
		{"/ui/workloads?label=app%3Dother", []string{"No workload matches."}},
		{"/ui/workloads/Deployment/default/web", []string{"Deployment default/web", pod.Name, "deployment.yaml:", "create default/web-abc"}},
		{"/ui/pods/default/" + pod.Name, []string{"Pod default/" + pod.Name, "Deployment default/web", "deployment.yaml:3", "ConfigMap default/web-config",
			"config.yaml:3", "Secret default/web-secret", "config.yaml:15", "Service default/web", "readiness: HTTP GET http://pod:http/ every 5s",
			"<code>API_TOKEN</code> (from a Secret, not shown)", "<code>POD_IP</code> = <code>(status.podIP)</code>", "GET / 200", "data-log-stream"}},
		{"/ui/services", []string{"default/web", "node-1</th><td>3</td><td>100%", "33.3%", "/ui/pods/default/"}},
		{"/ui/plan", []string{"The head fails lint or plan", "<code>c0ffee000000</code>"}},
		{"/ui/login", []string{`<input id="token" name="token" type="password"`}},
		{"/ui/assets/berth.css", []string{"prefers-color-scheme"}},
		{"/ui/assets/berth.js", []string{"EventSource"}},
	} {
		t.Run(tt.path, func(t *testing.T) {
			code, body := f.get(t, tt.path)
			if code != 200 {
				t.Fatalf("GET %s: %d\n%s", tt.path, code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in\n%s", tt.path, w, body)
				}
			}
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("GET %s shows secret material %q", tt.path, s)
				}
			}
		})
	}
	for _, path := range []string{"/ui/pods/default/nope", "/ui/workloads/Deployment/default/nope", "/ui/revisions/deadbeefcafe"} {
		if code, body := f.get(t, path); code != 404 || !strings.Contains(body, "Not found") {
			t.Errorf("GET %s: %d, want a 404 page\n%s", path, code, body)
		}
	}
	code, body := f.get(t, "/ui/workloads?label=app%3D%3D%3D")
	if code != 400 || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "Label selector:") {
		t.Errorf("a bad selector: %d\n%s", code, body)
	}
}

func TestHistoryAndDiffPages(t *testing.T) {
	f := newFixture(t)
	hist := f.loop.history
	head := compileDir(t, "../../examples/hello", "c0ffee0000000000000000000000000000000004")
	ctx := context.Background()
	l := gitops.New(gitops.Options{Source: &oneRev{rev: source.Revision{ID: head.Revision, Message: "switch to hello", Author: "Ada",
		Time: time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)}},
		Compile: func(context.Context, source.Revision) (*plan.Plan, []diag.Diagnostic) { return head, nil }, Apply: noApply{}, History: hist})
	l.Step(ctx, true)
	f.loop.set(func(s *gitops.Status) { s.Head, s.Rejected = head.Revision, nil })
	code, body := f.get(t, "/ui/history")
	if code != 200 || !strings.Contains(body, "switch to hello") || !strings.Contains(body, "Ada") || !strings.Contains(body, "✓ applied") ||
		!strings.Contains(body, "2026-05-02 09:00:00 UTC") {
		t.Errorf("history: %d\n%s", code, body)
	}
	code, body = f.get(t, "/ui/revisions/"+head.Revision[:12])
	if code != 200 || !strings.Contains(body, "Plan diff from the revision before") || !strings.Contains(body, "berth plan: `` → `c0ffee000000") {
		t.Errorf("revision: %d\n%s", code, body)
	}
	code, body = f.get(t, "/ui/plan")
	if code != 200 || !strings.Contains(body, "This node has no record") && !strings.Contains(body, "to add") {
		t.Errorf("plan: %d\n%s", code, body)
	}
}

// oneRev is a source whose head is rev.
type oneRev struct{ rev source.Revision }

func (o *oneRev) Fetch(_ context.Context, have string) (source.Revision, bool, error) {
	return o.rev, o.rev.ID != have, nil
}

type noApply struct{}

func (noApply) Apply(context.Context, *plan.Plan) error { return nil }

func TestLiveRegion(t *testing.T) {
	f := newFixture(t)
	code, body := f.get(t, "/ui/workloads", "X-Berth-Live", "1")
	if code != 200 || strings.Contains(body, "<html") || strings.Contains(body, "<form") || !strings.Contains(body, "Deployment default/web") {
		t.Fatalf("live region: %d\n%s", code, body)
	}
}

func TestEventsStream(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/ui/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; l != "retry: 2000" {
		t.Fatalf("first line %q", l)
	}
	time.Sleep(50 * time.Millisecond) // the broadcaster's first fingerprint
	f.loop.set(func(s *gitops.Status) { s.Applying = "c0ffee0000000000000000000000000000000009" })
	deadline := time.After(5 * time.Second)
	for {
		select {
		case l := <-lines:
			if l == "event: change" {
				return
			}
		case <-deadline:
			t.Fatal("no change event within 5s of a status change")
		}
	}
}

func TestLogStream(t *testing.T) {
	f := newFixture(t)
	pod := f.loop.plan.Nodes[0].Pods[0]
	path := "/ui/pods/default/" + pod.Name + "/log?container=web&from=7&follow=0"
	code, body := f.get(t, path)
	if code != 200 || body != "line 2\nGET / 200\n" {
		t.Errorf("text from byte 7: %d %q", code, body)
	}
	code, body = f.get(t, path, "Accept", "text/event-stream")
	if code != 200 || body != "data: line 2\n\ndata: GET / 200\n\n" {
		t.Errorf("events from byte 7: %d %q", code, body)
	}
}

func TestTailWriter(t *testing.T) {
	tw := &tailWriter{max: 10}
	fmt.Fprint(tw, "aaaa\nbbbb\ncccc\ndd")
	fmt.Fprint(tw, "\n")
	if got := tw.lines(5); got != "cccc\ndd\n" || tw.n != 18 {
		t.Errorf("lines = %q (n %d)", got, tw.n)
	}
	if got := tw.lines(1); got != "dd\n" {
		t.Errorf("last line = %q", got)
	}
}

func TestPaginate(t *testing.T) {
	for _, tt := range []struct {
		query              string
		total              int
		lo, hi, page, last int
		prev, next         bool
	}{
		{"", 120, 0, 50, 1, 3, false, true},
		{"page=3", 120, 100, 120, 3, 3, true, false},
		{"page=9", 120, 100, 120, 3, 3, true, false},
		{"page=-1&size=100000", 1200, 0, 500, 1, 3, false, true},
		{"size=0", 3, 0, 1, 1, 3, false, true},
		{"", 0, 0, 0, 1, 1, false, false},
	} {
		q, _ := url.ParseQuery(tt.query)
		p, lo, hi := paginate("/ui/x", q, tt.total)
		if lo != tt.lo || hi != tt.hi || p.Page != tt.page || p.Pages != tt.last || (p.Prev != "") != tt.prev || (p.Next != "") != tt.next {
			t.Errorf("%q of %d: %+v [%d:%d]", tt.query, tt.total, p, lo, hi)
		}
	}
}

func TestStreamBudget(t *testing.T) {
	f := newFixture(t)
	for range maxStreams {
		f.ui.streams <- struct{}{}
	}
	code, body := f.get(t, "/ui/events")
	if code != 503 || !strings.Contains(body, "too many open live pages") {
		t.Errorf("over the budget: %d %s", code, body)
	}
}

// TestFleetHealth: the fleet page shows each node's revision health, a
// suspended and a pinned node.
func TestFleetHealth(t *testing.T) {
	f := newFixture(t)
	f.loop.set(func(s *gitops.Status) {
		s.Health = &reconciler.Health{Revision: s.Applied, State: reconciler.HealthFailed, Reason: "crash loop"}
		s.Suspended = true
	})
	f.ui.opts.Cluster = func() []nodeapi.NodeSummary {
		return []nodeapi.NodeSummary{{Node: "node-1", Answers: true}, {Node: "node-2", Answers: true, Health: "healthy", Pinned: "c0ffee0000000000000000000000000000000001"}}
	}
	_, body := f.get(t, "/ui/")
	for _, w := range []string{"✗ failed", "⏸ suspended", "✓ healthy", "pinned c0ffee000000"} {
		if !strings.Contains(body, w) {
			t.Errorf("fleet page: no %q in\n%s", w, body)
		}
	}
}
