package schedule

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/expand"
	"berth.dev/berth/compiler/networkpolicy"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/nodefit"
	"berth.dev/berth/compiler/plan"
)

const inventory = `
apiVersion: berth.dev/v1
kind: Node
metadata: {name: a, labels: {disk: ssd}}
spec: {address: 10.0.0.1, capacity: {cpu: "2", memory: 2Gi, pods: "10"}}
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: b, labels: {disk: hdd}}
spec: {address: 10.0.0.2, capacity: {cpu: "2", memory: 2Gi, pods: "10"}}
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: c, labels: {disk: ssd}}
spec: {address: 10.0.0.3, capacity: {cpu: "1", memory: 1Gi}}
`

func deployment(name string, replicas int, extra string) string {
	return fmt.Sprintf(`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %s}
spec:
  replicas: %d
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
%s      containers: [{name: c, image: "app:1", resources: {requests: {cpu: 100m, memory: 64Mi}}}]
`, name, replicas, name, name, extra)
}

// place compiles src to its pods' nodes, by pod name.
func place(t *testing.T, src string) (map[string]string, []string) {
	t.Helper()
	set := objtest.Set(t, src)
	nodes, ds := Nodes(set, Local{Name: "local"}, DefaultPodCIDR)
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	claims, _ := address.Bind(set)
	res := expand.Expand(expand.Input{Set: set, Nodes: nodes, Claims: claims})
	if len(res.Diags) > 0 {
		t.Fatal(res.Diags)
	}
	where, diags := Place(nodes, res.Pods, networkpolicy.Namespaces(set))
	out := map[string]string{}
	for i, p := range res.Pods {
		out[p.Pod.Name] = where[i]
	}
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, d.String())
	}
	return out, msgs
}

func perNode(m map[string]string, prefix string) map[string]int {
	out := map[string]int{}
	for pod, n := range m {
		if strings.HasPrefix(pod, prefix) {
			out[n]++
		}
	}
	return out
}

func TestImplicitNode(t *testing.T) {
	set := objtest.Set(t, deployment("web", 1, ""))
	nodes, _ := Nodes(set, Local{Name: "box", Capacity: plan.Resources{MilliCPU: 2000}}, "10.1.0.0/16")
	if len(nodes) != 1 || nodes[0].Name != "box" || nodes[0].PodCIDR != "10.1.0.0/16" || nodes[0].Capacity.MilliCPU != 2000 {
		t.Errorf("nodes = %+v", nodes)
	}
}

func TestInventory(t *testing.T) {
	nodes, ds := Nodes(objtest.Set(t, inventory), Local{Name: "ignored"}, DefaultPodCIDR)
	if len(ds) > 0 || len(nodes) != 3 {
		t.Fatalf("nodes %+v, diagnostics %v", nodes, ds)
	}
	a := nodes[0]
	if a.Name != "a" || a.Capacity != (plan.Resources{MilliCPU: 2000, Memory: 2 << 30, Pods: 10}) || a.Labels["kubernetes.io/hostname"] != "a" || a.Address != "10.0.0.1" {
		t.Errorf("node a = %+v", a)
	}
	if nodes[2].Capacity.Pods != DefaultMaxPods {
		t.Errorf("node c pods = %d, want the default %d", nodes[2].Capacity.Pods, DefaultMaxPods)
	}
	if nodes[0].PodCIDR == nodes[1].PodCIDR || !strings.HasSuffix(nodes[0].PodCIDR, "/24") {
		t.Errorf("pod CIDRs %s %s", nodes[0].PodCIDR, nodes[1].PodCIDR)
	}
}

func TestPlace(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, where map[string]string, diags []string)
	}{
		{"spread evenly", deployment("web", 6, ""), func(t *testing.T, w map[string]string, d []string) {
			if got := perNode(w, "web-"); got["a"] != 2 || got["b"] != 2 || got["c"] != 2 {
				t.Errorf("6 replicas spread as %v, want 2 per node", got)
			}
		}},
		{"nodeSelector", deployment("web", 4, "      nodeSelector: {disk: ssd}\n"), func(t *testing.T, w map[string]string, d []string) {
			if got := perNode(w, "web-"); got["b"] != 0 || got["a"] != 2 || got["c"] != 2 {
				t.Errorf("placed %v, want only ssd nodes a and c", got)
			}
		}},
		{"capacity overflows to the next node", deployment("web", 12, "      nodeSelector: {disk: ssd}\n"), func(t *testing.T, w map[string]string, d []string) {
			// c has 1 cpu (10 pods of 100m); a takes the rest up to its 10-pod limit.
			if got := perNode(w, "web-"); got["a"]+got["c"] != 12 || got["c"] > 10 || got["a"] > 10 || len(d) > 0 {
				t.Errorf("placed %v (diagnostics %v)", got, d)
			}
		}},
		{"fits nowhere", deployment("web", 1, "      nodeSelector: {disk: nvme}\n"), func(t *testing.T, w map[string]string, d []string) {
			if len(d) != 1 || !strings.Contains(d[0], "fits no node: node a does not match nodeSelector disk=nvme; node b does not match nodeSelector disk=nvme; node c does not match nodeSelector disk=nvme") {
				t.Errorf("diagnostics %v", d)
			}
		}},
		{"too big", strings.Replace(deployment("web", 1, ""), "cpu: 100m", "cpu: \"3\"", 1), func(t *testing.T, w map[string]string, d []string) {
			want := "node a insufficient cpu (needs 3000m, 2000m free of 2000m); node b insufficient cpu (needs 3000m, 2000m free of 2000m); node c insufficient cpu (needs 3000m, 1000m free of 1000m)"
			if len(d) != 1 || !strings.Contains(d[0], want) || !strings.Contains(d[0], "test.yaml:") {
				t.Errorf("diagnostics %v, want %q", d, want)
			}
		}},
		{"volume pins the pod", `---
apiVersion: v1
kind: PersistentVolume
metadata: {name: disk}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  local: {path: /mnt/disk}
  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [b]}]}]}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  containers: [{name: db, image: "db:1"}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
`, func(t *testing.T, w map[string]string, d []string) {
			if w["db"] != "b" {
				t.Errorf("db placed on %q, want b (its volume's node)", w["db"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			where, diags := place(t, inventory+tt.src)
			tt.check(t, where, diags)
		})
	}
}

// TestStability: changing or adding one Deployment moves no other pod.
func TestStability(t *testing.T) {
	others := deployment("api", 5, "") + deployment("db", 2, "      nodeSelector: {disk: ssd}\n") + deployment("cache", 3, "")
	base, _ := place(t, inventory+others+deployment("web", 3, ""))
	for name, change := range map[string]string{
		"scale web":    deployment("web", 7, ""),
		"new image":    strings.Replace(deployment("web", 3, ""), "app:1", "app:2", 1),
		"web removed":  "",
		"new workload": deployment("web", 3, "") + deployment("extra", 4, ""),
		"web pinned":   deployment("web", 3, "      nodeSelector: {disk: hdd}\n"),
	} {
		t.Run(name, func(t *testing.T) {
			got, diags := place(t, inventory+others+change)
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			for pod, node := range base {
				if strings.HasPrefix(pod, "web-") {
					continue
				}
				if got[pod] != node {
					t.Errorf("pod %s moved from %s to %s", pod, node, got[pod])
				}
			}
		})
	}
}

func TestDaemonSetIgnoresCapacity(t *testing.T) {
	src := inventory + `---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: a, image: "agent:1", resources: {requests: {cpu: "5"}}}]
`
	where, diags := place(t, src)
	if len(where) != 3 || len(diags) > 0 {
		t.Errorf("daemon pods %v, diagnostics %v", where, diags)
	}
}

// manyNodes is an inventory of n nodes: the even ones labelled disk=ssd
// with room for one pod, the odd ones disk=hdd.
func manyNodes(n int) string {
	var b strings.Builder
	for i := range n {
		disk, pods := "hdd", 110
		if i%2 == 0 {
			disk, pods = "ssd", 1
		}
		fmt.Fprintf(&b, "---\napiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: n%02d, labels: {disk: %s}}\nspec: {address: 10.0.1.%d, capacity: {pods: \"%d\"}}\n", i, disk, i+1, pods)
	}
	return b.String()
}

// TestUnschedulableCounts: past a few nodes the message counts the nodes
// by reason, with one example each, instead of naming every node; nodes
// short of the same resource by different amounts are one line.
func TestUnschedulableCounts(t *testing.T) {
	_, d := place(t, manyNodes(12)+deployment("web", 7, "      nodeSelector: {disk: ssd}\n"))
	want := "fits no node: 6 nodes (n01, ...): does not match nodeSelector disk=ssd; 6 nodes (n00, ...): already holds 1 of 1 pods"
	if len(d) != 1 || !strings.Contains(d[0], want) {
		t.Errorf("diagnostics %v, want one with %q", d, want)
	}
	var small strings.Builder
	for i := range 7 {
		fmt.Fprintf(&small, "---\napiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: m%02d}\nspec: {address: 10.0.2.%d, capacity: {cpu: %dm}}\n", i, i+1, 50+i)
	}
	_, d = place(t, small.String()+deployment("web", 1, ""))
	want = "fits no node: 7 nodes (m00, ...): insufficient cpu"
	if len(d) != 1 || !strings.HasSuffix(d[0], want) {
		t.Errorf("diagnostics %v, want one ending in %q", d, want)
	}
}

// TestEligibleByLabelIndex: the nodes a pod's node-level filter makes
// eligible, starting from the label index of its nodeSelector, are
// exactly those a pass over every node finds, in the same tiers.
func TestEligibleByLabelIndex(t *testing.T) {
	set := objtest.Set(t, manyNodes(9)+"---"+inventory)
	inv, ds := Nodes(set, Local{}, DefaultPodCIDR)
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	ns := make([]*node, len(inv))
	for i := range inv {
		ns[i] = &node{Node: inv[i]}
	}
	el := newEligibility(ns)
	hostIn := func(v string) *api.Affinity {
		return &api.Affinity{NodeAffinity: &api.NodeAffinity{Required: &api.NodeSelector{NodeSelectorTerms: []api.NodeSelectorTerm{{
			MatchExpressions: []api.LabelSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: "In", Values: []string{v}}},
		}}}}}
	}
	for _, spec := range []api.PodSpec{
		{},
		{NodeSelector: map[string]string{"disk": "ssd"}},
		{NodeSelector: map[string]string{"disk": "hdd"}},
		{NodeSelector: map[string]string{"disk": "nvme"}},
		{NodeSelector: map[string]string{"zone": "a"}},
		{NodeSelector: map[string]string{"kubernetes.io/hostname": "n04"}},
		{NodeSelector: map[string]string{"kubernetes.io/hostname": "n04", "disk": "hdd"}},
		{NodeSelector: map[string]string{"kubernetes.io/hostname": "b", "disk": "hdd"}},
		{NodeSelector: map[string]string{"disk": "ssd"}, Affinity: hostIn("n02")},
		{NodeSelector: map[string]string{"disk": "hdd"}, Affinity: hostIn("n02")},
	} {
		p := &expand.Pod{NodeSelector: spec.NodeSelector, Fit: nodefit.New(&spec)}
		var want []string
		for _, n := range ns {
			if p.Fit.Refuses(&n.Node) == "" {
				want = append(want, n.Name)
			}
		}
		var got []string
		total := 0
		for _, e := range el.of(p) {
			for b := range e.buckets {
				for _, n := range e.buckets[b] {
					got = append(got, n.Name)
				}
			}
			total += e.n
		}
		slices.Sort(got)
		if !slices.Equal(got, want) || total != len(want) {
			t.Errorf("%+v: eligible %v (n=%d), want %v", spec, got, total, want)
		}
	}
}
