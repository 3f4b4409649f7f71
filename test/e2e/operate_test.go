package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	osexec "os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests of operating a node (issue 22): health and automatic revert,
// suspend, resume, pin, notifications, history, waves. They run one after
// the other before the parallel tests (no t.Parallel), on the slots of
// two of them.

// opsApp is a Deployment of the hello server with a short progress
// deadline, and its Service.
func opsApp(image string, deadline int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 2
  progressDeadlineSeconds: %d
  selector: {matchLabels: {app: hello}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: hello
          image: %s
          ports: [{name: http, containerPort: 8000}]
          readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  selector: {app: hello}
  ports: [{name: http, port: 80, targetPort: http}]
`, deadline, image)
}

// receiver is a local webhook collecting the daemon's events.
type receiver struct {
	mu  sync.Mutex
	got []map[string]any
	srv *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var e map[string]any
		if json.Unmarshal(b, &e) != nil || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want JSON", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, e)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// types lists the events' "type revision" in order.
func (r *receiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.got {
		s, _ := e["type"].(string)
		if rev, _ := e["revision"].(string); rev != "" {
			s += " " + short(rev)
		}
		out = append(out, s)
	}
	return out
}

func (r *receiver) find(typ string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.got {
		if e["type"] == typ {
			return e
		}
	}
	return nil
}

// opsStatus is the operating part of `berth status -o json`.
type opsStatus struct {
	GitOps struct {
		Applied string `json:"applied"`
		Head    string `json:"head"`
		Target  string `json:"target"`
		Why     string `json:"why"`
		Health  *struct {
			Revision, State, Reason, Object string
		} `json:"health"`
		Failure *struct {
			Node, Revision, Reason, Object string
		} `json:"failure"`
		Suspended bool   `json:"suspended"`
		Pinned    string `json:"pinned"`
	} `json:"gitops"`
}

func (n *node) ops() (opsStatus, error) {
	b, err := n.apiGet("/v1/status")
	if err != nil {
		return opsStatus{}, err
	}
	var s opsStatus
	return s, json.Unmarshal(b, &s)
}

// waitHealthy waits until rev runs, healthy.
func (n *node) waitHealthy(rev string, timeout time.Duration) {
	n.t.Helper()
	n.waitFor(timeout, short(rev)+" healthy", func() (bool, string) {
		s, err := n.ops()
		if err != nil {
			return false, err.Error()
		}
		h := s.GitOps.Health
		return s.GitOps.Applied == rev && h != nil && h.Revision == rev && h.State == "healthy", fmt.Sprintf("%+v", s.GitOps)
	})
}

// TestAutoRevert: a commit whose image does not exist fails its progress
// deadline; the node goes back to the last healthy revision on its own,
// with no failed request, records the failure with its reason, tells the
// webhook, and does not try it again; a later good commit rolls forward,
// and `berth retry` tries a failed one again.
func TestAutoRevert(t *testing.T) {
	n := newNode(t, 11)
	r := newRepo(t, n.dir)
	rcv := newReceiver(t)
	const deadline = 6
	r.write("app.yaml", opsApp(helloImage["v1"], deadline))
	good := r.commit("hello v1")
	r.push()
	n.start("--repo", r.bare, "--poll", "500ms", "--notify-url", rcv.srv.URL+"/hooks/T0/SECRETPATH")
	st := n.waitApplied(good, 60*time.Second)
	url := "http://" + net.JoinHostPort(st.clusterIP("hello"), "80") + "/"
	n.waitFor(60*time.Second, "v1 answering", func() (bool, string) { return serves(url, "v1") })
	n.waitHealthy(good, 60*time.Second)

	l := startLoad(url)
	r.write("app.yaml", opsApp(registry+"/berth/nothing-here:v9", deadline))
	bad := r.commit("hello from an image that does not exist")
	pushed := time.Now()
	r.push()
	n.waitApplied(bad, 30*time.Second)
	// Detection (the node sees it failed) and revert (it runs the last
	// healthy revision again, converged).
	var detected, back time.Time
	n.waitFor(time.Duration(deadline+60)*time.Second, "the revert", func() (bool, string) {
		s, err := n.ops()
		if err != nil {
			return false, err.Error()
		}
		if detected.IsZero() && s.GitOps.Failure != nil {
			detected = time.Now()
		}
		if !detected.IsZero() && s.GitOps.Applied == good {
			back = time.Now()
			return true, ""
		}
		return false, fmt.Sprintf("%+v", s.GitOps)
	})
	n.waitHealthy(good, 30*time.Second)
	ok, failures, versions := l.stop()
	t.Logf("failure detected %.1fs after the push (deadline %ds); back on the last healthy revision %.0f ms after the detection; %d requests answered %v, %d failed",
		detected.Sub(pushed).Seconds(), deadline, float64(back.Sub(detected).Milliseconds()), ok, versions, len(failures))
	if len(failures) > 0 {
		t.Errorf("%d requests failed across the failed rollout and the revert:\n%s", len(failures), summary(failures))
	}
	s, _ := n.ops()
	if s.GitOps.Why != "reverted" || s.GitOps.Head != bad || s.GitOps.Failure == nil ||
		!strings.Contains(s.GitOps.Failure.Reason, "progress deadline exceeded") || s.GitOps.Failure.Object != "Deployment/default/hello" {
		t.Errorf("status after the revert: %+v, failure %+v", s.GitOps, s.GitOps.Failure)
	}
	out, err := n.berth("status")
	if err != nil || !strings.Contains(out, "reverted:  to "+good[:12]) || !strings.Contains(out, "failed:    "+bad[:12]) {
		t.Errorf("berth status (err %v):\n%s", err, out)
	}
	hist, err := n.berth("history")
	if err != nil || !strings.Contains(hist, bad[:12]) || !regexpMatch(`(?m)^`+bad[:12]+`.*failed.*Deployment/default/hello: progress deadline exceeded: 0 of 2 new pods available after 6s.*\(pod hello-\S+ Pending: (ErrImagePull|ImagePullBackOff).*\(reverted to `+good[:12]+`\)$`, hist) {
		t.Errorf("berth history (err %v):\n%s", err, hist)
	}
	t.Logf("berth history:\n%s", hist)

	// The head stays the failed commit: it is not tried again.
	time.Sleep(3 * time.Second)
	if s, _ := n.ops(); s.GitOps.Applied != good {
		t.Fatalf("the failed revision was tried again: %+v", s.GitOps)
	}
	if m := n.metric("berth_revisions_reverted_total"); m != "1" {
		t.Errorf("berth_revisions_reverted_total = %q, want 1", m)
	}
	if m := n.metric("berth_revisions_failed_total"); m != "1" {
		t.Errorf("berth_revisions_failed_total = %q, want 1", m)
	}

	// berth retry: it runs again, fails again, and the node goes back again.
	if out, err := n.berth("retry", bad[:10]); err != nil || !strings.Contains(out, "will be tried again") {
		t.Fatalf("berth retry: %v %s", err, out)
	}
	n.waitApplied(bad, 30*time.Second)
	n.waitFor(time.Duration(deadline+60)*time.Second, "the second revert", func() (bool, string) {
		s, err := n.ops()
		return err == nil && s.GitOps.Applied == good && s.GitOps.Why == "reverted", fmt.Sprintf("%+v %v", s.GitOps, err)
	})

	// A later good commit rolls forward.
	r.write("app.yaml", opsApp(helloImage["v2"], deadline))
	v2 := r.commit("hello v2")
	r.push()
	n.waitHealthy(v2, 90*time.Second)
	n.waitFor(30*time.Second, "v2 answering", func() (bool, string) { return serves(url, "v2") })

	// The webhook heard it all, in order; no event holds the URL's secret.
	n.waitFor(10*time.Second, "the events", func() (bool, string) {
		got := rcv.types()
		want := []string{"revision.applied " + short(good), "revision.applied " + short(bad), "revision.failed " + short(bad), "revision.reverted " + short(bad),
			"revision.applied " + short(good), "revision.applied " + short(bad), "revision.failed " + short(bad), "revision.reverted " + short(bad),
			"revision.applied " + short(good), "revision.applied " + short(v2)}
		return slices.Equal(got, want), strings.Join(got, ", ")
	})
	rv := rcv.find("revision.reverted")
	if rv["to"] != good || rv["failedOn"] == "" || !strings.Contains(fmt.Sprint(rv["text"]), "back to "+good[:12]) || rv["version"] != "berth.dev/event/v1" {
		t.Errorf("reverted event %v", rv)
	}
	rcv.mu.Lock()
	for _, e := range rcv.got {
		if b, _ := json.Marshal(e); strings.Contains(string(b), "SECRETPATH") {
			t.Errorf("an event holds the webhook URL: %s", b)
		}
	}
	rcv.mu.Unlock()
	for _, l := range strings.Split(n.logTail(10000), "\n") {
		// The harness writes each daemon's command line first: that is not
		// the daemon's.
		if strings.Contains(l, "SECRETPATH") && !strings.HasPrefix(l, "=== berth daemon") {
			t.Errorf("the daemon's log holds the webhook URL: %s", l)
		}
	}
}

// TestSuspendPinResume: a suspended node keeps its revision while new
// commits arrive, and survives a restart suspended; resume applies the
// head; pin serves an earlier revision until unpin, newer commits
// waiting; the webhook hears each.
func TestSuspendPinResume(t *testing.T) {
	n := newNode(t, 12)
	r := newRepo(t, n.dir)
	rcv := newReceiver(t)
	r.write("app.yaml", opsApp(helloImage["v1"], 60))
	v1 := r.commit("hello v1")
	r.push()
	args := []string{"--repo", r.bare, "--poll", "500ms", "--notify-url", rcv.srv.URL}
	n.start(args...)
	n.waitHealthy(v1, 60*time.Second)

	if out, err := n.berth("suspend"); err != nil || !strings.Contains(out, "suspended this node") {
		t.Fatalf("berth suspend: %v %s", err, out)
	}
	r.write("app.yaml", opsApp(helloImage["v2"], 60))
	v2 := r.commit("hello v2")
	r.push()
	n.waitFor(20*time.Second, "the head fetched", func() (bool, string) {
		s, err := n.ops()
		return err == nil && s.GitOps.Head == v2, fmt.Sprintf("%+v", s.GitOps)
	})
	time.Sleep(2 * time.Second)
	if s, _ := n.ops(); s.GitOps.Applied != v1 || !s.GitOps.Suspended || s.GitOps.Why != "suspended" {
		t.Fatalf("suspended node: %+v", s.GitOps)
	}
	if m := n.metric("berth_suspended"); m != "1" {
		t.Errorf("berth_suspended = %q", m)
	}
	// A restart keeps it suspended.
	n.stop(syscall.SIGTERM)
	n.start(args...)
	time.Sleep(3 * time.Second)
	if s, _ := n.ops(); s.GitOps.Applied != v1 || !s.GitOps.Suspended {
		t.Fatalf("after a restart: %+v", s.GitOps)
	}
	if out, err := n.berth("resume"); err != nil {
		t.Fatalf("berth resume: %v %s", err, out)
	}
	n.waitHealthy(v2, 90*time.Second)

	// Pin v1: served until unpin; a newer commit waits.
	if out, err := n.berth("pin", v1[:10]); err != nil || !strings.Contains(out, "pinned this node to "+v1) {
		t.Fatalf("berth pin: %v %s", err, out)
	}
	n.waitHealthy(v1, 90*time.Second)
	r.write("app.yaml", opsApp(helloImage["v2"], 61))
	v3 := r.commit("hello v2, a minute and a second")
	r.push()
	n.waitFor(20*time.Second, "the head fetched", func() (bool, string) {
		s, err := n.ops()
		return err == nil && s.GitOps.Head == v3, fmt.Sprintf("%+v", s.GitOps)
	})
	if s, _ := n.ops(); s.GitOps.Applied != v1 || s.GitOps.Pinned != v1 || s.GitOps.Why != "pinned" {
		t.Fatalf("pinned node: %+v", s.GitOps)
	}
	if out, err := n.berth("unpin"); err != nil {
		t.Fatalf("berth unpin: %v %s", err, out)
	}
	n.waitHealthy(v3, 90*time.Second)
	if out, err := n.berth("pin", "0123456"); err == nil || !strings.Contains(err.Error(), "not in this node's history") {
		t.Errorf("pin of an unknown revision: %v %s", err, out)
	}
	n.waitFor(10*time.Second, "the events", func() (bool, string) {
		got := strings.Join(rcv.types(), ", ")
		for _, w := range []string{"node.suspended", "node.resumed", "node.pinned", "node.unpinned", "revision.applied " + short(v3)} {
			if !strings.Contains(got, w) {
				return false, got
			}
		}
		return true, ""
	})
}

// TestWavesMigrationFirst: an Argo CD PreSync Job runs to completion
// before the Deployment it precedes starts a pod, and a wave 1 Deployment
// waits for the wave 0 one to be ready.
func TestWavesMigrationFirst(t *testing.T) {
	n := newNode(t, 13)
	r := newRepo(t, n.dir)
	img := helloImage["v1"]
	r.write("app.yaml", opsApp(img, 60)+fmt.Sprintf(`---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - {name: migrate, image: %[1]s, command: [sh, -c, "sleep 3"]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, annotations: {berth.dev/wave: "1"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: worker
          image: %[1]s
          ports: [{name: http, containerPort: 8000}]
          readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
`, img))
	rev := r.commit("migrate, then hello, then worker")
	r.push()
	n.start("--repo", r.bare, "--poll", "500ms")
	n.waitHealthy(rev, 120*time.Second)
	st := n.mustStatus()
	var migrated time.Time
	var hello, worker []time.Time
	for _, p := range st.Pods {
		switch {
		case strings.HasPrefix(p.Name, "migrate-"):
			b, _ := n.apiGet("/v1/status")
			migrated = finishedAt(b, p.Name)
		case strings.HasPrefix(p.Name, "hello-"):
			hello = append(hello, p.StartedAt)
		case strings.HasPrefix(p.Name, "worker-"):
			worker = append(worker, p.StartedAt)
		}
	}
	t.Logf("migration finished %s; hello started %v; worker started %v", migrated.Format(time.StampMilli), hello, worker)
	if migrated.IsZero() || len(hello) != 2 || len(worker) != 1 {
		t.Fatalf("pods: %+v", st.Pods)
	}
	for _, h := range hello {
		if h.Before(migrated) {
			t.Errorf("a hello pod started at %s, before the PreSync migration finished at %s", h.Format(time.StampMilli), migrated.Format(time.StampMilli))
		}
		if worker[0].Before(h) {
			t.Errorf("the wave 1 worker started at %s, before the wave 0 hello pod at %s", worker[0].Format(time.StampMilli), h.Format(time.StampMilli))
		}
	}
	out, err := osexec.Command(berthBin, "plan", "--node", "box", r.work).CombinedOutput()
	plan := string(out)
	if err != nil || !regexpMatch(`PreSync wave 0\s+Job default/migrate\n\s+wave 0\s+Deployment default/hello\n\s+wave 1\s+Deployment default/worker\n`, plan) {
		t.Errorf("berth plan (err %v):\n%s", err, plan)
	}
}

// finishedAt is the finish time of a pod's first container in a status
// document.
func finishedAt(doc []byte, name string) time.Time {
	var s struct {
		Pods []struct {
			Name       string `json:"name"`
			Containers []struct {
				FinishedAt time.Time `json:"finishedAt"`
			} `json:"containers"`
		} `json:"pods"`
	}
	_ = json.Unmarshal(doc, &s)
	for _, p := range s.Pods {
		if p.Name == name && len(p.Containers) > 0 {
			return p.Containers[0].FinishedAt
		}
	}
	return time.Time{}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// metric is the value of an unlabelled metric on the node's /metrics.
func (n *node) metric(name string) string {
	b, err := n.apiGet("/metrics")
	if err != nil {
		return err.Error()
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return "(none)"
}
