package containerd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"berth.dev/berth/nodes/containerd/cni"
)

// TestPodNamespaceSurvivesIPNetnsAdd is the interleaving that left pods
// stuck: a pod's network namespace is created, then `ip netns add` runs
// (any tool on the host, or another test package), then the pod is
// removed. `ip netns add` bind-mounts /run/netns over itself when it is
// not yet a mount point, which hid the pod namespaces berth had mounted
// there: RemovePod failed for ever with "remove /run/netns/berth-…:
// device or resource busy", and CNI with "unknown FS magic". The test
// runs the real `ip netns add`, and also makes the same covering mount
// over the directory of the pod's namespace, whichever it is, so that it
// fails on the old layout even where /run/netns already was a mount
// point; then the pod must be removed, its veth and IP released, and a
// pod of the same name created again.
func TestPodNamespaceSurvivesIPNetnsAdd(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	p := testPod("netns-cover", container("app", "sleep", "3600"))
	p.Spec.TerminationGracePeriodSeconds = 1
	// Another pod runs beside it, as on any node: the cover copies its
	// namespace mount too, and a cover unmounted without MNT_DETACH then
	// stayed (EBUSY) with the pod's namespace hidden under it.
	by := testPod("netns-bystander", container("app", "sleep", "3600"))
	by.Spec.TerminationGracePeriodSeconds = 1
	cleanup(t, rt, p.Key(), by.Key())
	if err := rt.CreatePod(ctx, by); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, by.Key(), 60*time.Second, "running", running)
	veths := bridgePorts(t)
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	ns := rt.lookup(p.Key()).ns
	dir := filepath.Dir(ns.Net)

	ipNetnsAdd(t, fmt.Sprintf("berthtest-%d", os.Getpid()))
	if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Detached with the copies it made of other pods' namespaces;
		// the originals underneath stay.
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount the cover of %s: %v", dir, err)
		}
		// The hidden namespace is visible again: remove it.
		if hidden, err := cni.Remove(ns); err != nil || len(hidden) > 0 {
			t.Errorf("remove the namespaces once uncovered: hidden %v, %v", hidden, err)
		}
	})
	// The copy the cover made of the pod's namespace mount goes too, as
	// an earlier RemovePod that failed half-way did: the file left in the
	// cover is no namespace.
	if err := unix.Unmount(ns.Net, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}

	if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatalf("remove the pod with its namespace hidden: %v", err)
	}
	if got := bridgePorts(t); got != veths {
		t.Errorf("%d ports on %s after the removal, want %d: the pod's veth was left", got, testBridge, veths)
	}
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatalf("create the pod again: %v", err)
	}
	st := waitPod(t, rt, p.Key(), 60*time.Second, "running again", running)
	if st.IP == "" {
		t.Error("the pod created again has no IP")
	}
	if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatalf("remove the pod created again: %v", err)
	}
}

// ipNetnsAdd runs `ip netns add name`, and at the end of the test deletes
// the namespace and, if /run/netns was no mount point before, the mount
// of /run/netns over itself that `ip netns add` made (unless another
// namespace is mounted in it by now: then it stays).
func ipNetnsAdd(t *testing.T, name string) {
	t.Helper()
	wasMount := isMountPoint(t, "/run/netns")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
		if !wasMount && isMountPoint(t, "/run/netns") {
			if err := unix.Unmount("/run/netns", 0); err != nil {
				t.Logf("/run/netns stays a mount point: %v", err)
			}
		}
	})
}

func isMountPoint(t *testing.T, p string) bool {
	t.Helper()
	mps, err := cni.MountPoints()
	if err != nil {
		t.Fatal(err)
	}
	for _, mp := range mps {
		if mp == p {
			return true
		}
	}
	return false
}

// bridgePorts counts the interfaces attached to the test bridge.
func bridgePorts(t *testing.T) int {
	t.Helper()
	br, err := netlink.LinkByName(testBridge)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return 0
		}
		t.Fatal(err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			n++
		}
	}
	return n
}
