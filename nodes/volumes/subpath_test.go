package volumes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"

	"berth.dev/berth/compiler/plan"
)

func TestBindSubPath(t *testing.T) {
	m := newManager(t)
	outside := t.TempDir()
	pod := &plan.Pod{Namespace: "default", Name: "web", Spec: plan.PodSpec{Volumes: []plan.Volume{
		{Name: "scratch", Kind: KindEmptyDir},
		{Name: "cfg", Kind: KindConfigMap, Files: files("app.conf", "x", "d/f", "y")},
	}}}
	paths, err := m.Prepare(pod)
	if err != nil {
		t.Fatal(err)
	}
	scratch, cfg := paths["scratch"], paths["cfg"]
	// What a container could plant in its emptyDir.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/", filepath.Join(scratch, "root")))
	must(os.Symlink(outside, filepath.Join(scratch, "abs")))
	must(os.Symlink("../../../../..", filepath.Join(scratch, "up")))
	must(os.Symlink("real/dir", filepath.Join(scratch, "inside")))
	must(os.MkdirAll(filepath.Join(scratch, "real/dir"), 0o755))
	payload, err := os.Readlink(filepath.Join(cfg, "..data"))
	must(err)

	tests := []struct {
		vol, sub string
		want     string // the file the target must show; "" means an error
	}{
		{"scratch", "real/dir", filepath.Join(scratch, "real/dir")},
		{"scratch", "inside", filepath.Join(scratch, "real/dir")},
		{"scratch", "new/dir", filepath.Join(scratch, "new/dir")}, // created, as the kubelet does
		{"scratch", "root", ""},
		{"scratch", "root/etc", ""},
		{"scratch", "abs", ""},
		{"scratch", "up/etc", ""},
		{"scratch", "../x", ""},
		{"scratch", "/etc", ""},
		{"cfg", "app.conf", filepath.Join(cfg, payload, "app.conf")},
		{"cfg", "d/f", filepath.Join(cfg, payload, "d/f")},
	}
	for i, tt := range tests {
		sp := SubPath{Volume: tt.vol, VolumePath: paths[tt.vol], Container: "app", Index: i, Path: tt.sub}
		got, err := m.BindSubPath(pod, sp)
		if tt.want == "" {
			if err == nil {
				t.Errorf("BindSubPath(%s) = %s, want an error", tt.sub, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("BindSubPath(%s): %v", tt.sub, err)
			continue
		}
		if ok, err := mountinfo.Mounted(got); !ok || err != nil {
			t.Errorf("BindSubPath(%s): %s is not a mount point (%v)", tt.sub, got, err)
		}
		if !sameFile(t, got, tt.want) {
			t.Errorf("BindSubPath(%s): %s does not show %s", tt.sub, got, tt.want)
		}
		if strings.HasPrefix(got, paths[tt.vol]) {
			t.Errorf("BindSubPath(%s): target %s is inside the volume", tt.sub, got)
		}
	}
	fi, err := os.Stat(filepath.Join(scratch, "new/dir"))
	if err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("created subPath: %v %v, want the emptyDir's mode 0777", fi, err)
	}

	// A container swaps the directory for a symlink to the host's root
	// while the pod runs: the next start refuses it, and the mount made
	// before still shows the old directory, not the host.
	sp := SubPath{Volume: "scratch", VolumePath: scratch, Container: "app", Index: 0, Path: "real/dir"}
	must(os.Rename(filepath.Join(scratch, "real/dir"), filepath.Join(scratch, "old")))
	must(os.Symlink("/", filepath.Join(scratch, "real/dir")))
	if got, err := m.BindSubPath(pod, sp); err == nil || !strings.Contains(err.Error(), "outside the volume") {
		t.Errorf("swapped for a symlink to /: %s, %v; want a refusal", got, err)
	}
	target, _ := m.SubPathTarget(pod, sp)
	if !sameFile(t, target, filepath.Join(scratch, "old")) {
		t.Error("the earlier mount changed")
	}
	// A new directory in its place is mounted instead of the old one.
	must(os.Remove(filepath.Join(scratch, "real/dir")))
	must(os.Mkdir(filepath.Join(scratch, "real/dir"), 0o755))
	if _, err := m.BindSubPath(pod, sp); err != nil {
		t.Fatal(err)
	}
	if !sameFile(t, target, filepath.Join(scratch, "real/dir")) {
		t.Error("a replaced directory is not mounted again")
	}

	// Removing the pod unmounts every subPath and deletes the directory.
	must(m.Remove(pod.Key()))
	dir, _ := m.PodDir(pod.Namespace, pod.Name)
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("pod directory left: %v", err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("data outside the volume touched: %v", err)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Stat(a)
	if err != nil {
		t.Error(err)
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		t.Error(err)
		return false
	}
	return os.SameFile(fa, fb)
}
