package nodeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler/gitops"
)

type fakeLoop struct{}

func (fakeLoop) Status() gitops.Status { return gitops.Status{Applied: "abc", PlanHash: "h"} }

type fakeWorkloads struct{ promoted []string }

func (f *fakeWorkloads) Status() any { return map[string]int{"workloads": 1} }
func (f *fakeWorkloads) Promote(name string) error {
	if name == "missing" {
		return errors.New("no rollout missing")
	}
	f.promoted = append(f.promoted, name)
	return nil
}
func (f *fakeWorkloads) Abort(string) error { return nil }

type fakePods struct{}

func (fakePods) Observe(context.Context) (nodes.NodeState, error) {
	return nodes.NodeState{Pods: []nodes.PodStatus{{Namespace: "default", Name: "web-1", Phase: nodes.PhaseRunning, Ready: true}}}, nil
}
func (fakePods) Logs(_ context.Context, key, container string, _, _ bool, w io.Writer) error {
	if key != "default/web-1" {
		return fmt.Errorf("no pod %s", key)
	}
	fmt.Fprintf(w, "log of %s/%s\n", key, container)
	return nil
}

func TestUnixAPI(t *testing.T) {
	wl := &fakeWorkloads{}
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := []NodeSummary{{Node: "n1", Answers: true, Applied: "abc", PlanHash: "h", Ready: 2, Total: 2, Converged: true}, {Node: "n2"}}
	go Serve(ctx, l, Handler(Options{Node: "n1", Loop: fakeLoop{}, Workloads: wl, Pods: fakePods{},
		Cluster: func() []NodeSummary { return cluster }}))

	c := NewClient(sock, "")
	if got, err := c.Cluster(ctx); err != nil || !reflect.DeepEqual(got, cluster) {
		t.Fatalf("cluster = %+v, %v", got, err)
	}
	doc, raw, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Node != "n1" || doc.GitOps.Applied != "abc" || len(doc.Pods) != 1 || !strings.Contains(string(raw), `"workloads": 1`) {
		t.Fatalf("status = %+v\n%s", doc, raw)
	}
	if _, err := c.Promote(ctx, "web"); err != nil || len(wl.promoted) != 1 {
		t.Fatalf("promote: %v %v", err, wl.promoted)
	}
	if _, err := c.Promote(ctx, "missing"); err == nil || !strings.Contains(err.Error(), "no rollout missing") {
		t.Fatalf("promote missing: err = %v", err)
	}
	var sb strings.Builder
	if err := c.Logs(ctx, "web-1", "app", false, false, &sb); err != nil || sb.String() != "log of default/web-1/app\n" {
		t.Fatalf("logs = %q, %v", sb.String(), err)
	}
}

func TestRequireToken(t *testing.T) {
	h := RequireToken(Handler(Options{Node: "n1"}), "tok")
	for _, tt := range []struct {
		path, auth string
		code       int
	}{
		{"/v1/status", "", 401},
		{"/v1/status", "Bearer nope", 401},
		{"/v1/status", "Bearer tok", 200},
		{"/healthz", "", 200},
	} {
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.code {
			t.Errorf("%s with %q: code %d, want %d", tt.path, tt.auth, rec.Code, tt.code)
		}
	}
}
