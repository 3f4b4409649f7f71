package schedule

import (
	"strings"
	"testing"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/expand"
	"berth.dev/berth/compiler/internal/objtest"
)

// When the nodes cannot hold every pod, the highest priorities are
// placed and the lowest are the ones that fit nowhere, whatever their
// names; with room for all, priority moves nothing.
func TestPriorityOrder(t *testing.T) {
	const node = `apiVersion: berth.dev/v1
kind: Node
metadata: {name: a}
spec: {address: 10.0.0.1, capacity: {cpu: "1", pods: "10"}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
`
	// "aaa" sorts first but is low priority; "zzz" is high.
	src := node + deployment("aaa", 4, "") + deployment("zzz", 6, "      priorityClassName: high\n")
	set := objtest.Set(t, src)
	admit.Admit(set, admit.Templates(set))
	nodes, _ := Nodes(set, Local{Name: "local"}, DefaultPodCIDR)
	claims, _ := address.Bind(set)
	res := expand.Expand(expand.Input{Set: set, Nodes: nodes, Claims: claims})
	where, diags := Place(nodes, res.Pods, nil)
	placed := map[string]int{}
	for i, p := range res.Pods {
		if where[i] != "" {
			placed[strings.SplitN(p.Pod.Name, "-", 2)[0]]++
		}
	}
	// 1 cpu holds 10 pods of 100m: every high one, 4 low ones.
	if placed["zzz"] != 6 || placed["aaa"] != 4 {
		t.Errorf("placed %v, want zzz 6, aaa 4", placed)
	}
	if len(diags) != 0 {
		t.Errorf("diags %v", diags)
	}
	src = node + deployment("aaa", 5, "") + deployment("zzz", 6, "      priorityClassName: high\n")
	set = objtest.Set(t, src)
	admit.Admit(set, admit.Templates(set))
	res = expand.Expand(expand.Input{Set: set, Nodes: nodes, Claims: claims})
	where, diags = Place(nodes, res.Pods, nil)
	var left []string
	for i, p := range res.Pods {
		if where[i] == "" {
			left = append(left, strings.SplitN(p.Pod.Name, "-", 2)[0])
		}
	}
	if len(left) != 1 || left[0] != "aaa" || len(diags) != 1 {
		t.Errorf("left out %v (diags %v), want one aaa pod", left, diags)
	}
}
