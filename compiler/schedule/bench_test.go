package schedule

import (
	"fmt"
	"strings"
	"testing"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/expand"
	"berth.dev/berth/compiler/internal/objtest"
)

// benchPlace places groups Deployments of 3 replicas on nodes nodes in
// three zones; with rules, every Deployment carries what charts render:
// preferred anti-affinity on its own labels, a zone spread and a
// toleration (the worst realistic shape: every group has pod terms).
func benchPlace(b *testing.B, groups, nodes int, rules bool) {
	var src strings.Builder
	for i := range nodes {
		fmt.Fprintf(&src, "---\napiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: n%d, labels: {topology.kubernetes.io/zone: z%d}}\nspec: {address: 10.%d.%d.1, capacity: {cpu: \"64\", pods: \"1000\"}}\n", i, i%3, i/250, i%250)
	}
	extra := ""
	if rules {
		extra = indent(`
tolerations: [{key: dedicated, operator: Exists}]
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - {weight: 100, podAffinityTerm: {labelSelector: {matchLabels: {app: APP}}, topologyKey: kubernetes.io/hostname}}
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: APP}}}`)
	}
	for i := range groups {
		name := fmt.Sprintf("app%d", i)
		src.WriteString(deployment(name, 3, strings.ReplaceAll(extra, "APP", name)))
	}
	set := objtest.Set(b, src.String())
	ns, _ := Nodes(set, Local{}, DefaultPodCIDR)
	claims, _ := address.Bind(set)
	res := expand.Expand(expand.Input{Set: set, Nodes: ns, Claims: claims})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Place(ns, res.Pods, nil)
	}
}

func BenchmarkPlace1k(b *testing.B)               { benchPlace(b, 1_000, 30, false) }
func BenchmarkPlace10k(b *testing.B)              { benchPlace(b, 10_000, 30, false) }
func BenchmarkPlace10kNodes300(b *testing.B)      { benchPlace(b, 10_000, 300, false) }
func BenchmarkPlaceRules1k(b *testing.B)          { benchPlace(b, 1_000, 30, true) }
func BenchmarkPlaceRules10k(b *testing.B)         { benchPlace(b, 10_000, 30, true) }
func BenchmarkPlaceRules10kNodes300(b *testing.B) { benchPlace(b, 10_000, 300, true) }
