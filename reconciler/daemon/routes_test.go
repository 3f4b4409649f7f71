package daemon

import (
	"os"
	"runtime"
	"sort"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"berth.dev/berth/compiler/plan"
)

// TestHostRoutesOwnOnly: two berth instances on one host (other state
// directories and chain prefixes) each add their routes to the other
// nodes' pod CIDRs; one that drops a node, and one that is cleaned up,
// remove their own routes and leave the other's alone.
func TestHostRoutesOwnOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("not root under CI")
		}
		t.Skip("SKIP: routes in a network namespace need root")
	}
	inNewNetns(t, func() {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "node0"}, PeerName: "node1"}
		if err := netlink.LinkAdd(veth); err != nil {
			t.Error(err)
			return
		}
		addr, _ := netlink.ParseAddr("192.168.77.1/24")
		if err := netlink.AddrAdd(veth, addr); err != nil {
			t.Error(err)
			return
		}
		if err := netlink.LinkSetUp(veth); err != nil {
			t.Error(err)
			return
		}
		node := func(name, addr, cidr string) plan.NodePlan {
			return plan.NodePlan{Node: plan.Node{Name: name, Address: addr, PodCIDR: cidr}}
		}
		a, b := newHostRoutes(t.TempDir()), newHostRoutes(t.TempDir())
		if err := a.sync(&plan.Plan{Nodes: []plan.NodePlan{node("a", "", ""), node("n2", "192.168.77.12", "10.77.2.0/24")}}, "a"); err != nil {
			t.Error(err)
			return
		}
		bPlan := &plan.Plan{Nodes: []plan.NodePlan{node("b", "", ""), node("n3", "192.168.77.13", "10.77.3.0/24")}}
		if err := b.sync(bPlan, "b"); err != nil {
			t.Error(err)
			return
		}
		want(t, "both instances' routes", "10.77.2.0/24", "10.77.3.0/24")

		if err := a.sync(&plan.Plan{Nodes: []plan.NodePlan{node("a", "", "")}}, "a"); err != nil {
			t.Error(err)
			return
		}
		want(t, "a dropped n2", "10.77.3.0/24")
		if err := a.sync(&plan.Plan{Nodes: []plan.NodePlan{node("a", "", ""), node("n2", "192.168.77.12", "10.77.2.0/24")}}, "a"); err != nil {
			t.Error(err)
			return
		}
		if err := removeHostRoutes(a.dir()); err != nil {
			t.Error(err)
			return
		}
		want(t, "a cleaned up", "10.77.3.0/24")
		if err := removeHostRoutes(b.dir()); err != nil {
			t.Error(err)
			return
		}
		want(t, "b cleaned up")
	})
}

func (h *hostRoutes) dir() string { return h.file[:len(h.file)-len(routesFile)-1] }

func want(t *testing.T, what string, dsts ...string) {
	t.Helper()
	rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		t.Error(err)
		return
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Dst.String())
	}
	sort.Strings(got)
	if len(got) != len(dsts) || (len(got) > 0 && !equal(got, dsts)) {
		t.Errorf("%s: routes %v, want %v", what, got, dsts)
	}
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// inNewNetns runs fn on a thread in a new network namespace, which goes
// with the thread (fn reports with t.Error: it is not the test goroutine).
func inNewNetns(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Error(err)
			return
		}
		fn()
	}()
	<-done
}
