package volumes

import (
	"os"
	"path/filepath"
	"testing"

	"berth.dev/berth/compiler/plan"
)

func TestResolveSubPath(t *testing.T) {
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
	must(os.MkdirAll(filepath.Join(scratch, "real/dir"), 0o755))
	payload, err := os.Readlink(filepath.Join(cfg, "..data"))
	must(err)

	tests := []struct {
		vol, sub, want string // want "" means an error
	}{
		{scratch, "real/dir", filepath.Join(scratch, "real/dir")},
		{scratch, "root", scratch},
		{scratch, "root/etc", filepath.Join(scratch, "etc")},
		{scratch, "abs", filepath.Join(scratch, outside)},
		{scratch, "up/etc", filepath.Join(scratch, "etc")},
		{scratch, "../x", ""},
		{scratch, "/etc", ""},
		{cfg, "app.conf", filepath.Join(cfg, payload, "app.conf")},
		{cfg, "d/f", filepath.Join(cfg, payload, "d/f")},
	}
	for _, tt := range tests {
		got, err := ResolveSubPath(tt.vol, tt.sub)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ResolveSubPath(%s) = %s, want an error", tt.sub, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveSubPath(%s) = %s, %v; want %s", tt.sub, got, err, tt.want)
		}
	}
}
