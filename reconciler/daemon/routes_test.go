package daemon

import (
	"maps"
	"testing"

	"berth.dev/berth/compiler/plan"
)

func TestWantedRoutes(t *testing.T) {
	node := func(name, addr, cidr string) plan.NodePlan {
		return plan.NodePlan{Node: plan.Node{Name: name, Address: addr, PodCIDR: cidr}}
	}
	p := &plan.Plan{Nodes: []plan.NodePlan{
		node("a", "192.168.77.11", "10.77.1.0/24"),
		node("b", "192.168.77.12", "10.77.2.0/24"),
		node("c", "", "10.77.3.0/24"),
		node("d", "192.168.77.14", ""),
		node("e", "not-an-ip", "10.77.5.0/24"),
	}}
	got := wantedRoutes(p, "a")
	if want := map[string]string{"10.77.2.0/24": "192.168.77.12"}; !maps.Equal(got, want) {
		t.Errorf("wantedRoutes = %v, want %v", got, want)
	}
}
