package assemble

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"berth.dev/berth/compiler/internal/objtest"
)

// A StatefulSet's ordinals share one node of the inventory (so one node
// orders them), and that node stays theirs when another workload comes.
func TestStatefulSetOneNode(t *testing.T) {
	var nodes strings.Builder
	for _, n := range []string{"a", "b", "c", "d"} {
		nodes.WriteString("apiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: " + n + "}\nspec: {address: 192.168.1." + string(rune('1'+n[0]-'a')) +
			", podCIDR: 10.1." + string(rune('0'+n[0]-'a')) + ".0/24, capacity: {cpu: \"8\", memory: 16Gi, pods: \"110\"}}\n---\n")
	}
	sts := `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 4
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: "busybox:1", resources: {requests: {cpu: 100m}}}]
`
	web, err := os.ReadFile("testdata/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	where := func(src string) map[string]string {
		t.Helper()
		p, ds := Plan(objtest.Set(t, src), Options{})
		if errs := objtest.Errors(ds); len(errs) > 0 {
			t.Fatal(errs)
		}
		out := map[string]string{}
		for _, np := range p.Nodes {
			for _, pod := range np.Pods {
				if strings.HasPrefix(pod.Name, "db-") {
					out[pod.Name] = np.Node.Name
				}
			}
		}
		return out
	}
	alone := where(nodes.String() + sts)
	if len(alone) != 4 || alone["db-0"] == "" || alone["db-1"] != alone["db-0"] || alone["db-2"] != alone["db-0"] || alone["db-3"] != alone["db-0"] {
		t.Fatalf("ordinals placed on %v, want one node", alone)
	}
	with := where(nodes.String() + sts + "---\n" + string(web))
	for k, v := range alone {
		if with[k] != v {
			t.Fatalf("adding another workload moved %s from %s to %s", k, v, with[k])
		}
	}
}

// An ordinal whose claim binds a local PersistentVolume runs on that
// volume's node, whatever node the set's other ordinals run on: each
// ordinal's own volumes filter its nodes (the schedule once kept the
// first ordinal's for all of them).
func TestStatefulSetOrdinalPinnedByVolume(t *testing.T) {
	var src strings.Builder
	for _, n := range []string{"a", "b", "c"} {
		src.WriteString("apiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: " + n + "}\nspec: {address: 192.168.1." + string(rune('1'+n[0]-'a')) +
			", podCIDR: 10.1." + string(rune('0'+n[0]-'a')) + ".0/24, capacity: {cpu: \"8\", memory: 16Gi, pods: \"110\"}}\n---\n")
	}
	for i, n := range []string{"c", "b"} {
		fmt.Fprintf(&src, `apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-%d}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local
  local: {path: /srv/%d}
  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [%s]}]}]}}
---
`, i, i, n)
	}
	src.WriteString(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: "busybox:1", volumeMounts: [{name: data, mountPath: /data}]}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {storageClassName: local, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`)
	p, ds := Plan(objtest.Set(t, src.String()), Options{})
	if errs := objtest.Errors(ds); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := map[string]string{}
	for _, np := range p.Nodes {
		for _, pod := range np.Pods {
			got[pod.Name] = np.Node.Name + " " + pod.Spec.Volumes[0].Source
		}
	}
	want := map[string]string{"db-0": "c data-db-0 -> pv-0", "db-1": "b data-db-1 -> pv-1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("placed %v, want %v", got, want)
	}
}
