package assemble

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/schedule"
)

func TestPlanWeb(t *testing.T) {
	src, err := os.ReadFile("testdata/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, ds := Plan(objtest.Set(t, string(src)), Options{})
	if errs := objtest.Errors(ds); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cr3t", "hunter2"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("plan JSON holds the secret %q", secret)
		}
	}
	if len(p.Nodes) != 1 || len(p.Nodes[0].Pods) != 4 || len(p.Services) != 2 || len(p.Workloads) != 4 {
		t.Errorf("plan has %d nodes, %d services, %d workloads", len(p.Nodes), len(p.Services), len(p.Workloads))
	}
}

func TestDuplicatePodName(t *testing.T) {
	src := `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: a, image: "agent:1"}]
`
	p, _ := Plan(objtest.Set(t, src), Options{Local: schedule.Local{Name: "n1"}})
	name := p.Nodes[0].Pods[0].Name
	clash := src + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n  containers: [{name: c, image: \"busybox:1\"}]\n"
	_, ds := Plan(objtest.Set(t, clash), Options{Local: schedule.Local{Name: "n1"}})
	if errs := objtest.Errors(ds); len(errs) != 1 || !strings.Contains(errs[0], "is also made by") {
		t.Errorf("errors %v, want one duplicate-pod error", errs)
	}
}

func TestPlanSorted(t *testing.T) {
	src, err := os.ReadFile("testdata/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Plan(objtest.Set(t, string(src)), Options{Revision: "r1"})
	if p.Revision != "r1" || p.FormatVersion != plan.FormatVersion {
		t.Errorf("revision %q format %q", p.Revision, p.FormatVersion)
	}
	pods := p.Nodes[0].Pods
	if !slices.IsSortedFunc(pods, func(a, b plan.Pod) int { return strings.Compare(a.Key(), b.Key()) }) {
		t.Errorf("pods are not sorted")
	}
	q, _ := Plan(objtest.Set(t, string(src)), Options{})
	r, _ := Plan(objtest.Set(t, string(src)), Options{})
	if q.Revision == "" || q.Revision != r.Revision || !strings.HasPrefix(q.Revision, "sha256:") {
		t.Errorf("content revisions %q %q", q.Revision, r.Revision)
	}
}
