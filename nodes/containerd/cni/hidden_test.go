package cni

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/testneed"
)

// TestNamespaceHiddenByLaterMount reproduces what `ip netns add` does to
// /run/netns when it is not yet a mount point: it bind-mounts the
// directory over itself (MS_BIND|MS_REC, then MS_SHARED), which copies
// the namespace mounts into the new mount and leaves the originals
// hidden underneath. The file of a hidden namespace cannot be deleted
// (EBUSY). Remove must neither fail nor leave the pod's name stuck:
// Create at the same path works again.
func TestNamespaceHiddenByLaterMount(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	netnsDir := filepath.Join(dir, "netns")
	ns := Paths(netnsDir, filepath.Join(dir, "ns"), "berth-hidden")
	if err := Create(ns, "pod-a"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = Remove(ns) })
	// The later `ip netns add`.
	if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	covered := true
	uncover := func() {
		if covered {
			covered = false
			// The copied namespace mount first, then the cover itself;
			// the hidden original is then visible and Cleanup removes it.
			_ = unix.Unmount(ns.Net, unix.MNT_DETACH)
			if err := unix.Unmount(netnsDir, 0); err != nil {
				t.Errorf("unmount the cover: %v", err)
			}
		}
	}
	t.Cleanup(uncover)

	hidden, err := Remove(ns)
	if err != nil {
		t.Fatalf("Remove with its namespaces hidden: %v", err)
	}
	if len(hidden) != 1 || hidden[0] != ns.Net {
		t.Errorf("hidden = %v, want [%s]", hidden, ns.Net)
	}
	// The name is not stuck: the pod is created again at the same path.
	if err := Create(ns, "pod-a"); err != nil {
		t.Fatalf("Create again: %v", err)
	}
	if !mounted(ns.Net) {
		t.Fatalf("%s is not a namespace after Create", ns.Net)
	}
	if _, err := Remove(ns); err != nil {
		t.Fatalf("Remove again: %v", err)
	}
	uncover()
	if hidden, err := Remove(ns); err != nil || len(hidden) > 0 {
		t.Fatalf("Remove once the cover is gone: hidden %v, %v", hidden, err)
	}
	if Exists(ns) {
		t.Error("namespaces left after Remove")
	}
	if m := mountsUnder(t, dir); len(m) > 0 {
		t.Errorf("mounts left under %s: %v", dir, m)
	}
}

// mountsUnder lists the mount points under dir, hidden ones included.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	mps, err := MountPoints()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mp := range mps {
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out
}

func requireRoot(t *testing.T) {
	t.Helper()
	testneed.Root(t, "it creates network namespaces")
}
