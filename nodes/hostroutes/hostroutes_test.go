package hostroutes

import (
	"runtime"
	"sort"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/testneed"
)

// TestRoutesOwnOnly: two berth instances on one host (other state
// directories and chain prefixes) each add their routes to the other
// nodes' pod CIDRs; one that drops a node, and one that is cleaned up,
// remove their own routes and leave the other's alone.
func TestRoutesOwnOnly(t *testing.T) {
	testneed.Root(t, "routes in a network namespace")
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
		dirA, dirB := t.TempDir(), t.TempDir()
		a, b := New(dirA), New(dirB)
		n2 := map[string]string{"10.77.2.0/24": "192.168.77.12"}
		if err := a.Sync(n2); err != nil {
			t.Error(err)
			return
		}
		if err := b.Sync(map[string]string{"10.77.3.0/24": "192.168.77.13"}); err != nil {
			t.Error(err)
			return
		}
		want(t, "both instances' routes", "10.77.2.0/24", "10.77.3.0/24")

		if err := a.Sync(nil); err != nil {
			t.Error(err)
			return
		}
		want(t, "a dropped n2", "10.77.3.0/24")
		if err := a.Sync(n2); err != nil {
			t.Error(err)
			return
		}
		if err := Remove(dirA); err != nil {
			t.Error(err)
			return
		}
		want(t, "a cleaned up", "10.77.3.0/24")
		if err := Remove(dirB); err != nil {
			t.Error(err)
			return
		}
		want(t, "b cleaned up")
	})
}

func want(t *testing.T, what string, dsts ...string) {
	t.Helper()
	rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: Protocol}, netlink.RT_FILTER_PROTOCOL)
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
