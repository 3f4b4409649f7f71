package volumes

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"berth.dev/berth/compiler/plan"
	"golang.org/x/sys/unix"
)

func TestRemove(t *testing.T) {
	requireRoot(t)
	m := newManager(t)
	host := t.TempDir()
	hostDir := filepath.Join(host, "host")
	pvDir := filepath.Join(host, "pv")
	pod := &plan.Pod{Namespace: "default", Name: "web", Spec: plan.PodSpec{Volumes: []plan.Volume{
		{Name: "scratch", Kind: KindEmptyDir},
		{Name: "mem", Kind: KindEmptyDir, Medium: MediumMemory},
		{Name: "cfg", Kind: KindConfigMap, Files: files("a", "1")},
		{Name: "sec", Kind: KindSecret, Files: files("token", "t")},
		{Name: "host", Kind: KindHostPath, Path: hostDir, HostPathType: HostPathDirectoryOrCreate},
		{Name: "data", Kind: KindPVC, Path: pvDir},
	}}}
	paths, err := m.Prepare(pod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteHosts(pod, "10.88.0.5", "cluster.local"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{hostDir, pvDir} {
		if err := os.WriteFile(filepath.Join(p, "keep"), []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A container could plant symlinks to outside data in its emptyDir.
	for _, p := range []string{hostDir, pvDir} {
		if err := os.Symlink(p, filepath.Join(paths["scratch"], filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(paths["mem"], filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	// Even a hostPath bind-mounted into the pod's directory by mistake must
	// be unmounted, not emptied.
	bind := filepath.Join(paths["scratch"], "bound")
	if err := os.Mkdir(bind, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(hostDir, bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	podDir := filepath.Dir(filepath.Dir(paths["scratch"]))

	if err := m.Remove("default/web"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(podDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pod dir still there: %v", err)
	}
	for _, p := range []string{hostDir, pvDir} {
		if b, err := os.ReadFile(filepath.Join(p, "keep")); err != nil || string(b) != "precious" {
			t.Errorf("%s data lost: %q %v", p, b, err)
		}
	}
	if ms, _ := mountsUnder(podDir); len(ms) != 0 {
		t.Errorf("mounts left: %v", ms)
	}
	// Idempotent.
	if err := m.Remove("default_web"); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestRemoveRefusesBadKeys(t *testing.T) {
	base := t.TempDir()
	m := New(filepath.Join(base, "pods"))
	victim := filepath.Join(base, "victim")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../victim", "..", "default/../../victim", "/", "", "a/b/c", "victim"} {
		if err := m.Remove(key); err == nil {
			t.Errorf("Remove(%q) accepted", key)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("victim touched: %v", err)
	}
}

func TestRemoveSymlinkedPodDir(t *testing.T) {
	base := t.TempDir()
	m := New(filepath.Join(base, "pods"))
	victim := filepath.Join(base, "victim")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(victim, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(m.Root(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(m.Root(), "default_web")); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove("default/web"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
		t.Errorf("followed the symlink: %v", err)
	}
}
