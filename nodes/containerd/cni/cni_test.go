package cni

import (
	"os"
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
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("not root under CI")
		}
		t.Skip("SKIP: creating namespaces needs root")
	}
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
	if err := Remove(ns); err != nil {
		t.Fatal(err)
	}
	if Exists(ns) {
		t.Error("namespaces left after Remove")
	}
}
