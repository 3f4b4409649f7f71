package cni

import (
	"path/filepath"
	"testing"
)

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"bad CIDR":   {Name: "t", Bridge: "b", Subnet: "10.0.0.0/99", BinDir: "/usr/lib/cni"},
		"no plugins": {Name: "t", Bridge: "b", Subnet: "10.0.0.0/24", BinDir: t.TempDir()},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNamespacesCreateRemove(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	ns := Paths(filepath.Join(dir, "netns"), filepath.Join(dir, "ns"), "berth-test")
	if err := Create(ns, "pod-a"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ns.Net, ns.UTS, ns.IPC} {
		if !mounted(p) {
			t.Errorf("%s is not a namespace mount", p)
		}
	}
	if err := Create(ns, "pod-a"); err != nil { // idempotent
		t.Fatal(err)
	}
	if hidden, err := Remove(ns); err != nil || len(hidden) > 0 {
		t.Fatalf("hidden %v, %v", hidden, err)
	}
	if Exists(ns) {
		t.Error("namespaces left after Remove")
	}
}
