package volumes

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"berth.dev/berth/compiler/plan"
)

// owner is a path's group and mode (with setgid).
func owner(t *testing.T, p string) (uint32, fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Gid, fi.Mode() & (fs.ModePerm | fs.ModeSetgid)
}

// TestFSGroupOwnership: the pod's fsGroup owns the volumes berth writes,
// with the kubelet's modes: emptyDir 2777 and its content group
// read-write, configMap and secret files group-readable under setgid
// directories; a hostPath is never touched.
func TestFSGroupOwnership(t *testing.T) {
	requireRoot(t)
	m := newManager(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	gid := int64(4321)
	pod := &plan.Pod{Namespace: "default", Name: "owned", Spec: plan.PodSpec{
		SecurityContext: &plan.PodSecurity{FSGroup: &gid},
		Volumes: []plan.Volume{
			{Name: "scratch", Kind: KindEmptyDir},
			{Name: "conf", Kind: KindConfigMap, Files: []plan.File{{Path: "a/b.conf", Mode: 0o400, Data: plan.Plain("b")}}},
			{Name: "creds", Kind: KindSecret, Files: []plan.File{{Path: "token", Mode: 0o600, Data: plan.Plain("t")}}},
			{Name: "host", Kind: KindHostPath, Path: host},
		},
	}}
	paths, err := m.Prepare(pod)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(paths["scratch"], "old"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		mode fs.FileMode
	}{
		{paths["scratch"], 0o777 | fs.ModeSetgid},
		{filepath.Join(paths["conf"], "a", "b.conf"), 0o440},
		{filepath.Join(paths["conf"], "a"), 0o755 | fs.ModeSetgid},
		{filepath.Join(paths["creds"], "token"), 0o640},
		{paths["creds"], 0o755 | fs.ModeSetgid},
	} {
		real, err := filepath.EvalSymlinks(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if g, mode := owner(t, real); g != uint32(gid) || mode != tt.mode {
			t.Errorf("%s: group %d mode %v, want %d %v", tt.path, g, mode, gid, tt.mode)
		}
	}
	if g, mode := owner(t, filepath.Join(host, "f")); g != 0 || mode != 0o600 {
		t.Errorf("hostPath touched: group %d mode %v", g, mode)
	}
	// A second Prepare (a restarted pod) reowns what a container wrote.
	if _, err := m.Prepare(pod); err != nil {
		t.Fatal(err)
	}
	if g, mode := owner(t, filepath.Join(paths["scratch"], "old")); g != uint32(gid) || mode != 0o660 {
		t.Errorf("emptyDir content: group %d mode %v, want %d 0660", g, mode, gid)
	}
	// An update writes new files with the group too.
	pod.Spec.Volumes[1].Files = []plan.File{{Path: "c.conf", Mode: 0o644, Data: plan.Plain("c")}}
	if err := m.Update(pod); err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(filepath.Join(paths["conf"], "c.conf"))
	if g, mode := owner(t, real); g != uint32(gid) || mode != 0o644 {
		t.Errorf("updated file: group %d mode %v", g, mode)
	}
}

// TestFSGroupChangePolicy: OnRootMismatch leaves a local volume whose
// root is already right alone; Always walks it every time.
func TestFSGroupChangePolicy(t *testing.T) {
	dir := t.TempDir()
	inner := filepath.Join(dir, "data")
	if err := os.WriteFile(inner, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := setOwnership(dir, 777, plan.FSGroupOnRootMismatch, false); err != nil {
		t.Fatal(err)
	}
	if g, mode := owner(t, inner); g != 777 || mode != 0o660 {
		t.Fatalf("first pass: group %d mode %v", g, mode)
	}
	if err := os.Chown(inner, -1, 0); err != nil {
		t.Fatal(err)
	}
	if err := setOwnership(dir, 777, plan.FSGroupOnRootMismatch, false); err != nil {
		t.Fatal(err)
	}
	if g, _ := owner(t, inner); g != 0 {
		t.Errorf("OnRootMismatch walked a volume whose root was right")
	}
	if err := setOwnership(dir, 777, "", false); err != nil {
		t.Fatal(err)
	}
	if g, _ := owner(t, inner); g != 777 {
		t.Errorf("Always did not walk the volume")
	}
}
