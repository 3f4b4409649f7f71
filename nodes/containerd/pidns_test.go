package containerd

import (
	"debug/elf"
	"os"
	"strings"
	"testing"
)

// TestHolderMounts: the holder's root gets the binary at /pause and, for
// a binary linked dynamically (this test binary, built with cgo), its
// loader and every library it needs, all read-only; nothing else of the
// node.
func TestHolderMounts(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	mounts, err := holderMounts(exe)
	if err != nil {
		t.Fatal(err)
	}
	want := 1
	if dynamic {
		want += 1 + len(libs)
	}
	if len(mounts) != want {
		t.Fatalf("%d mounts for a binary with %d libraries (dynamic %v): %+v", len(mounts), len(libs), dynamic, mounts)
	}
	if mounts[0].Source != exe || mounts[0].Destination != "/pause" {
		t.Errorf("first mount %+v, want %s at /pause", mounts[0], exe)
	}
	for i, m := range mounts {
		if !strings.Contains(strings.Join(m.Options, ","), "ro") || m.Type != "bind" {
			t.Errorf("mount %+v is not a read-only bind", m)
		}
		if i > 0 && m.Source != m.Destination {
			t.Errorf("library mount %+v not at its own path", m)
		}
	}
	for _, lib := range libs {
		found := false
		for _, m := range mounts[1:] {
			found = found || strings.HasSuffix(m.Source, "/"+lib)
		}
		if !found {
			t.Errorf("library %s not mounted: %+v", lib, mounts)
		}
	}
	if _, err := holderMounts("/nonexistent/berth"); err == nil {
		t.Error("no error for a missing binary")
	}
}
