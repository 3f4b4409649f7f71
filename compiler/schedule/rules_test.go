package schedule

import (
	"fmt"
	"strings"
	"testing"
)

// zones is an inventory with zones, taints, sizes and GPUs.
const zones = `
apiVersion: berth.dev/v1
kind: Node
metadata: {name: n1, labels: {topology.kubernetes.io/zone: a}}
spec:
  address: 10.0.0.1
  capacity: {cpu: "4", nvidia.com/gpu: "2"}
  taints: [{key: gpu, value: "true", effect: NoSchedule}]
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: n2, labels: {topology.kubernetes.io/zone: a, size: "10"}}
spec: {address: 10.0.0.2, capacity: {cpu: "4"}}
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: n3, labels: {topology.kubernetes.io/zone: b, size: "20"}}
spec:
  address: 10.0.0.3
  capacity: {cpu: "4"}
  taints: [{key: maintenance, effect: PreferNoSchedule}]
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: n4, labels: {topology.kubernetes.io/zone: b, size: "5"}}
spec: {address: 10.0.0.4, capacity: {cpu: "4"}}
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: n5, labels: {topology.kubernetes.io/zone: c}}
spec:
  address: 10.0.0.5
  capacity: {cpu: "4"}
  taints: [{key: drain, effect: NoExecute}]
`

// indent puts spec lines at the pod spec's depth.
func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}

func nodesOf(w map[string]string, prefix string) string {
	got := perNode(w, prefix)
	var out []string
	for _, n := range []string{"", "n1", "n2", "n3", "n4", "n5"} {
		if got[n] > 0 {
			name := n
			if n == "" {
				name = "none"
			}
			out = append(out, fmt.Sprintf("%s:%d", name, got[n]))
		}
	}
	return strings.Join(out, " ")
}

// dataDB is a db pod on n4 (zone b) in namespace data, labelled
// team=storage.
const dataDB = `---
apiVersion: v1
kind: Namespace
metadata: {name: data, labels: {team: storage}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: data}
spec:
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      nodeSelector: {size: "5"}
      containers: [{name: c, image: "app:1"}]
`

func TestRules(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		want     string // pods of web per node
		wantDiag string // a substring of the diagnostics, "" for none
	}{
		// n3's PreferNoSchedule taint puts it in a lower tier: it takes
		// pods only when the others cannot.
		{"untainted nodes only", deployment("web", 3, ""), "n2:2 n4:1", ""},
		{"required node affinity In", deployment("web", 4, indent(`
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms: [{matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [b]}]}]`)), "n4:4", ""},
		{"Gt compares integers", deployment("web", 2, indent(`
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms: [{matchExpressions: [{key: size, operator: Gt, values: ["8"]}]}]`)), "n2:2", ""},
		{"Lt, terms are ORed", deployment("web", 2, indent(`
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
      - matchExpressions: [{key: size, operator: Lt, values: ["6"]}]
      - matchFields: [{key: metadata.name, operator: In, values: [n2]}]`)), "n2:1 n4:1", ""},
		{"NotIn and DoesNotExist", deployment("web", 2, indent(`
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms: [{matchExpressions: [{key: topology.kubernetes.io/zone, operator: NotIn, values: [b]}, {key: size, operator: DoesNotExist}]}]`)), "none:2",
			"node n2 does not match the pod's node affinity (topology.kubernetes.io/zone notin (b),!size)"},
		{"preferred node affinity fills the preferred nodes first", deployment("web", 3, indent(`
affinity:
  nodeAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - {weight: 10, preference: {matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [b]}]}}
    - {weight: 50, preference: {matchExpressions: [{key: size, operator: In, values: ["5"]}]}}`)), "n4:3", ""},
		{"PreferNoSchedule is avoided while another node fits", deployment("web", 2, indent(`
nodeSelector: {topology.kubernetes.io/zone: b}`)), "n4:2", ""},
		{"toleration opens a tainted node", deployment("web", 4, indent(`
nodeSelector: {topology.kubernetes.io/zone: a}
tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]`)), "n1:2 n2:2", ""},
		{"toleration with another value does not", deployment("web", 1, indent(`
nodeSelector: {topology.kubernetes.io/zone: a}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: [n1]}]}]
tolerations: [{key: gpu, value: "false", effect: NoSchedule}]`)), "none:1", "node n1 has untolerated taint {gpu=true:NoSchedule}"},
		{"NoExecute tolerated for a time is left", deployment("web", 1, indent(`
nodeSelector: {topology.kubernetes.io/zone: c}
tolerations: [{key: drain, operator: Exists, effect: NoExecute, tolerationSeconds: 30}]`)), "none:1", "node n5 has taint {drain:NoExecute} that the pod tolerates for only 30s"},
		{"NoExecute tolerated forever", deployment("web", 1, indent(`
nodeSelector: {topology.kubernetes.io/zone: c}
tolerations: [{operator: Exists}]`)), "n5:1", ""},
		{"extended resources count against capacity", strings.Replace(deployment("web", 3, indent(`
tolerations: [{key: gpu, operator: Exists}]`)), "memory: 64Mi}", "memory: 64Mi}, limits: {nvidia.com/gpu: 1}", 1), "none:1 n1:2",
			"node n1 insufficient nvidia.com/gpu (needs 1, 0 free of 2); node n2 insufficient nvidia.com/gpu (needs 1, 0 free of 0)"},
		{"required anti-affinity: one per node", deployment("web", 4, indent(`
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: web}}, topologyKey: kubernetes.io/hostname}`)), "none:1 n2:1 n3:1 n4:1",
			"node n2 does not satisfy the pod's anti-affinity {app=web} in kubernetes.io/hostname"},
		{"required anti-affinity by zone", deployment("web", 3, indent(`
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: web}}, topologyKey: topology.kubernetes.io/zone}`)), "none:1 n2:1 n4:1", "fits no node"},
		{"preferred anti-affinity spreads, then doubles up", deployment("web", 5, indent(`
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm: {labelSelector: {matchLabels: {app: web}}, topologyKey: topology.kubernetes.io/zone}`)), "n2:3 n4:2", ""},
		{"required affinity follows the other workload", deployment("db", 1, indent(`
nodeSelector: {size: "20"}
tolerations: [{key: maintenance, operator: Exists}]`)) + deployment("web", 3, indent(`
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: db}}, topologyKey: topology.kubernetes.io/zone}`)), "n4:3", ""},
		{"required affinity to nothing", deployment("web", 1, indent(`
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: nothing}}, topologyKey: kubernetes.io/hostname}`)), "none:1", "does not satisfy the pod's affinity {app=nothing} in kubernetes.io/hostname"},
		{"affinity to itself lets the first pod in", deployment("web", 3, indent(`
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: web}}, topologyKey: topology.kubernetes.io/zone}`)), "n2:3", ""},
		{"namespaceSelector selects namespaces by their labels", dataDB + deployment("web", 3, indent(`
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: db}}, namespaceSelector: {matchLabels: {team: storage}}, topologyKey: topology.kubernetes.io/zone}`)), "n4:3", ""},
		{"namespaceSelector NotIn leaves the labelled namespace out", dataDB + deployment("web", 1, indent(`
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: db}}, namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [storage]}]}, topologyKey: topology.kubernetes.io/zone}`)), "none:1", "does not satisfy the pod's affinity {app=db}"},
		{"namespaces and namespaceSelector are unioned", dataDB + deployment("web", 2, indent(`
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: db}}, namespaces: [data], namespaceSelector: {matchLabels: {team: nobody}}, topologyKey: topology.kubernetes.io/zone}`)), "n4:2", ""},
		{"namespaceSelector on the name the API server sets", dataDB + deployment("web", 2, indent(`
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - {labelSelector: {matchLabels: {app: db}}, namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [data]}]}, topologyKey: topology.kubernetes.io/zone}`)), "n4:2", ""},
		{"topology spread DoNotSchedule over zones", deployment("web", 4, indent(`
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}, nodeTaintsPolicy: Honor}`)), "n2:2 n4:2", ""},
		{"tainted zone counts as an empty domain by default", deployment("web", 3, indent(`
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}`)), "none:1 n2:1 n4:1", "would make the skew 2 of its topology spread {app=web} over topology.kubernetes.io/zone (maxSkew 1)"},
		{"minDomains above the domains", deployment("web", 3, indent(`
topologySpreadConstraints:
- {maxSkew: 1, minDomains: 3, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}, nodeTaintsPolicy: Honor}`)), "none:1 n2:1 n4:1", "would make the skew 2"},
		{"matchLabelKeys narrows to the revision", deployment("web", 4, indent(`
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}, matchLabelKeys: [pod-template-hash]}`)), "n2:2 n4:2", ""},
		{"missing topology label refuses the node", deployment("web", 1, indent(`
nodeSelector: {topology.kubernetes.io/zone: a}
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: size, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}`)), "n2:1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			where, diags := place(t, zones+tt.src)
			if got := nodesOf(where, "web-"); got != tt.want {
				t.Errorf("placed %s, want %s (diagnostics %v)", got, tt.want, diags)
			}
			all := strings.Join(diags, "\n")
			if tt.wantDiag == "" && len(diags) > 0 || !strings.Contains(all, tt.wantDiag) {
				t.Errorf("diagnostics %q, want %q", all, tt.wantDiag)
			}
			// Determinism: the same input places the same way.
			again, _ := place(t, zones+tt.src)
			for pod, n := range where {
				if again[pod] != n {
					t.Errorf("pod %s on %s, then on %s", pod, n, again[pod])
				}
			}
		})
	}
}

// TestRulesStability: with every kind of rule in play, changing or
// adding one workload moves no pod of the others.
func TestRulesStability(t *testing.T) {
	others := deployment("api", 4, indent(`
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - {weight: 100, podAffinityTerm: {labelSelector: {matchLabels: {app: api}}, topologyKey: kubernetes.io/hostname}}`)) +
		deployment("gpu", 2, indent(`
tolerations: [{key: gpu, operator: Exists}]
affinity:
  nodeAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - {weight: 1, preference: {matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [a]}]}}`)) +
		deployment("spread", 3, indent(`
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: spread}}}`))
	base, diags := place(t, zones+others+deployment("web", 2, ""))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	for name, change := range map[string]string{
		"scale web":     deployment("web", 6, ""),
		"web removed":   "",
		"web tolerates": deployment("web", 2, indent(`tolerations: [{operator: Exists}]`)),
		"web anti":      deployment("web", 3, indent("affinity:\n  podAntiAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n    - {labelSelector: {matchLabels: {app: web}}, topologyKey: kubernetes.io/hostname}")),
		"new workload":  deployment("web", 2, "") + deployment("extra", 3, indent(`nodeSelector: {topology.kubernetes.io/zone: b}`)),
	} {
		t.Run(name, func(t *testing.T) {
			got, _ := place(t, zones+others+change)
			for pod, node := range base {
				if !strings.HasPrefix(pod, "web-") && got[pod] != node {
					t.Errorf("pod %s moved from %s to %s", pod, node, got[pod])
				}
			}
		})
	}
}

// Past five nodes, the refusal sums the nodes up by reason.
func TestUnschedulableSummary(t *testing.T) {
	var inv strings.Builder
	for i := range 7 {
		fmt.Fprintf(&inv, "---\napiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: m%d}\nspec: {address: 10.0.1.%d, capacity: {cpu: \"1\"}%s}\n", i, i+1,
			map[bool]string{true: ", taints: [{key: x, effect: NoSchedule}]"}[i < 4])
	}
	_, diags := place(t, inv.String()+strings.Replace(deployment("web", 1, ""), "cpu: 100m", "cpu: \"2\"", 1))
	want := "fits no node: 4 nodes (m0, ...): has untolerated taint {x:NoSchedule}; 3 nodes (m4, ...): insufficient cpu (needs 2000m, 1000m free of 1000m)"
	if len(diags) != 1 || !strings.Contains(diags[0], want) {
		t.Errorf("diagnostics %v, want %q", diags, want)
	}
}

func TestDaemonSetTaints(t *testing.T) {
	ds := func(tol string) string {
		return `---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
` + tol + `      containers: [{name: a, image: "agent:1"}]
`
	}
	where, _ := place(t, zones+ds(""))
	if got := nodesOf(where, "agent-"); got != "n2:1 n3:1 n4:1" {
		t.Errorf("agent on %s, want the untainted and PreferNoSchedule nodes", got)
	}
	where, _ = place(t, zones+ds(indent("tolerations: [{operator: Exists}]")))
	if got := nodesOf(where, "agent-"); got != "n1:1 n2:1 n3:1 n4:1 n5:1" {
		t.Errorf("agent on %s, want every node", got)
	}
}
