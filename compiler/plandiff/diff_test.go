package plandiff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"berth.dev/berth/compiler/assemble"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/schedule"
)

const baseSrc = `
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {app.conf: one}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {token: TOPSECRET}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: "nginx:1.25"
        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: sec, key: token}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: tool}
spec:
  containers: [{name: t, image: "busybox:1.36", volumeMounts: [{name: c, mountPath: /c}]}]
  volumes: [{name: c, configMap: {name: cfg}}]
---
apiVersion: v1
kind: Service
metadata: {name: old}
spec:
  selector: {app: none}
  ports: [{port: 80}]
`

func compile(t *testing.T, src string) *plan.Plan {
	t.Helper()
	p, ds := assemble.Plan(objtest.Set(t, src), assemble.Options{Local: schedule.Local{Name: "n1"}})
	if errs := objtest.Errors(ds); len(errs) > 0 {
		t.Fatal(errs)
	}
	return p
}

func TestNoChanges(t *testing.T) {
	d := Compare(compile(t, baseSrc), compile(t, baseSrc))
	if !d.Summary.Empty() || len(d.Changes) != 0 {
		t.Fatalf("identical plans differ: %+v", d.Changes)
	}
	var buf bytes.Buffer
	if err := (Text{}).Render(&buf, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "No changes.") || !strings.Contains(buf.String(), "Plan: 0 to add, 0 to change, 0 to destroy.") {
		t.Errorf("text:\n%s", buf.String())
	}
}

func TestChanges(t *testing.T) {
	head := strings.NewReplacer(
		`image: "nginx:1.25"`, `image: "nginx:1.26"`, // web rolls: 3 pods replaced
		`data: {app.conf: one}`, `data: {app.conf: two}`, // tool updated in place
		`stringData: {token: TOPSECRET}`, `stringData: {token: NEWSECRET}`,
	).Replace(baseSrc)
	head = strings.Replace(head, "metadata: {name: old}", "metadata: {name: new}", 1)
	d := Compare(compile(t, baseSrc), compile(t, head))

	var lines []string
	for _, c := range d.Changes {
		lines = append(lines, symbol(c.Action)+" "+c.Object()+note(&c))
	}
	got := strings.Join(lines, "\n")
	want := strings.Join([]string{
		"~ Deployment default/web: rolling 3 pods, maxSurge 1, maxUnavailable 0",
		"+ Service default/new",
		"- Service default/old",
		"~ ConfigMap default/cfg",
		"~ Secret default/sec",
	}, "\n")
	if got != want {
		t.Errorf("changes\n%s\nwant\n%s", got, want)
	}
	// Only repository objects count; the pods are one line per node.
	if d.Summary != (Summary{Add: 1, Change: 3, Destroy: 1}) {
		t.Errorf("summary %+v", d.Summary)
	}
	if len(d.Nodes) != 1 || podCounts(&d.Nodes[0]) != "7 pods: 3 created, 1 updated in place, 3 deleted" ||
		strings.Join(d.Nodes[0].Workloads, ",") != "Deployment default/web,Pod default/tool" {
		t.Errorf("nodes %+v", d.Nodes)
	}

	for _, r := range []Renderer{Text{}, JSON{}, Markdown{}} {
		var buf bytes.Buffer
		if err := r.Render(&buf, d); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, "TOPSECRET") || strings.Contains(out, "NEWSECRET") {
			t.Errorf("%T leaks a secret:\n%s", r, out)
		}
		if strings.Contains(out, "web-") {
			t.Errorf("%T lists a pod:\n%s", r, out)
		}
		if _, isJSON := r.(JSON); isJSON {
			var back Diff
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Summary != d.Summary {
				t.Errorf("JSON does not round-trip: %v", err)
			}
			continue
		}
		if !strings.Contains(out, "Plan: 1 to add, 3 to change, 1 to destroy.") || !strings.Contains(out, "7 pods: 3 created, 1 updated in place, 3 deleted") {
			t.Errorf("%T lacks the summary or the node line:\n%s", r, out)
		}
	}
}

// TestNewServiceIsOneObject: a Service added to a plan is one object
// added, and no pod is touched.
func TestNewServiceIsOneObject(t *testing.T) {
	head := baseSrc + "---\napiVersion: v1\nkind: Service\nmetadata: {name: extra}\nspec:\n  selector: {app: web}\n  ports: [{port: 81}]\n"
	d := Compare(compile(t, baseSrc), compile(t, head))
	if d.Summary != (Summary{Add: 1}) || len(d.Changes) != 1 || len(d.Nodes) != 0 {
		t.Errorf("summary %s, changes %+v, nodes %+v", d.Summary, d.Changes, d.Nodes)
	}
}

func TestRestartAndFields(t *testing.T) {
	base := compile(t, baseSrc)
	head := compile(t, strings.Replace(baseSrc, `image: "busybox:1.36"`, `image: "busybox:1.37"`, 1))
	d := Compare(base, head)
	if len(d.Changes) != 1 || len(d.Nodes) != 1 || d.Nodes[0].Replace != 1 {
		t.Fatalf("changes %+v nodes %+v", d.Changes, d.Nodes)
	}
	c := d.Changes[0]
	if c.Kind != "Pod" || c.Action != Update {
		t.Fatalf("change %+v, want the bare Pod updated", c)
	}
	want := Field{Path: "template.spec.containers[t].image", Old: `"busybox:1.36"`, New: `"busybox:1.37"`}
	found := false
	for _, f := range c.Fields {
		found = found || f == want
	}
	if !found {
		t.Errorf("fields %+v lack %+v", c.Fields, want)
	}
}

func TestMovedPod(t *testing.T) {
	p := compile(t, baseSrc)
	q := compile(t, baseSrc)
	q.Nodes = append(q.Nodes, plan.NodePlan{Node: plan.Node{Name: "n2"}, Pods: q.Nodes[0].Pods[:1]})
	q.Nodes[0].Pods = q.Nodes[0].Pods[1:]
	d := Compare(p, q)
	var got []string
	for _, c := range d.Changes {
		got = append(got, c.Action+" "+c.Kind)
	}
	for _, n := range d.Nodes {
		got = append(got, n.Node+" "+podCounts(&n))
	}
	if want := "create Node,n1 1 pod: 1 deleted,n2 1 pod: 1 created"; strings.Join(got, ",") != want {
		t.Errorf("changes %v, want %s", got, want)
	}
}

func TestRollout(t *testing.T) {
	w := func(kind string, s plan.Strategy) *plan.Workload {
		return &plan.Workload{Kind: kind, Replicas: 3, Strategy: s}
	}
	weight := int32(20)
	tests := []struct {
		w    *plan.Workload
		want string
	}{
		{w("Deployment", plan.Strategy{Type: "RollingUpdate", MaxSurge: 1}), "rolling 3 pods, maxSurge 1, maxUnavailable 0"},
		{w("Deployment", plan.Strategy{Type: "Recreate"}), "recreate 3 pods: all old pods stop before the new ones start"},
		{w("DaemonSet", plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1}), "rolling 3 pods, one node at a time (maxUnavailable 1, maxSurge 0)"},
		{w("Rollout", plan.Strategy{Type: "BlueGreen", BlueGreen: &plan.BlueGreen{ActiveService: "web", AutoPromotionEnabled: true, ScaleDownDelaySeconds: 30}}), "blue/green: 3 pods beside the old, switch web when ready, old kept 30s"},
		{w("Rollout", plan.Strategy{Type: "Canary", Canary: &plan.Canary{Steps: []plan.CanaryStep{{SetWeight: &weight}, {Pause: true, PauseSeconds: 60}, {Pause: true}}}}), "canary: 3 pods, steps setWeight 20, pause 60s, pause until promoted, promote"},
	}
	for _, tt := range tests {
		if got := Rollout(tt.w); got != tt.want {
			t.Errorf("Rollout(%s %s) = %q, want %q", tt.w.Kind, tt.w.Strategy.Type, got, tt.want)
		}
	}
}

func TestArrayKeys(t *testing.T) {
	a := map[string]any{"env": []map[string]string{{"name": "A", "value": "1"}, {"name": "B", "value": "2"}}}
	b := map[string]any{"env": []map[string]string{{"name": "Z", "value": "0"}, {"name": "A", "value": "1"}, {"name": "B", "value": "3"}}}
	got := fields(a, b)
	want := []Field{{Path: "env[B].value", Old: `"2"`, New: `"3"`}, {Path: "env[Z]", New: `{"name":"Z","value":"0"}`}}
	if len(got) != len(want) {
		t.Fatalf("fields %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
