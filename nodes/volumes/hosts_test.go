package volumes

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"berth.dev/berth/compiler/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRenderHostsGolden(t *testing.T) {
	got, err := RenderHosts("web-0", "10.88.0.5")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "hosts.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("hosts mismatch (go test -update to accept):\n--- got\n%s--- want\n%s", got, want)
	}
}

func TestRenderHostsErrors(t *testing.T) {
	tests := []struct {
		name  string
		pod   string
		podIP string
		want  string
	}{
		{"bad pod IP", "web", "10.88.0.300", "pod IP"},
		{"zone injection", "web", "fe80::1%a\n1.2.3.4 evil", "zone is not allowed"},
		{"newline injection", "a\n1.2.3.4 evil", "10.88.0.5", "without blanks"},
		{"empty name", "", "10.88.0.5", "without blanks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RenderHosts(tt.pod, tt.podIP)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRenderHostsNoPodIP(t *testing.T) {
	got, err := RenderHosts("web", "")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != hostsHeader {
		t.Errorf("got %q, want only the header", got)
	}
}

func TestWriteHostsKeepsInode(t *testing.T) {
	m := New(t.TempDir())
	pod := &plan.Pod{Namespace: "default", Name: "web"}
	p, err := m.WriteHosts(pod, "10.88.0.5", "cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(m.Root(), "default_web", "hosts"); p != want {
		t.Errorf("path = %s, want %s", p, want)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino

	// A bind mount pins the inode, so a change must land in the same one.
	if _, err := m.WriteHosts(pod, "10.88.100.105", "cluster.local"); err != nil {
		t.Fatal(err)
	}
	// And shrinking must truncate.
	if _, err := m.WriteHosts(pod, "10.88.0.6", "cluster.local"); err != nil {
		t.Fatal(err)
	}
	fi, err = os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Sys().(*syscall.Stat_t).Ino; got != ino {
		t.Errorf("inode changed %d -> %d; a bind-mounted /etc/hosts would go stale", ino, got)
	}
	got, _ := os.ReadFile(p)
	want, _ := RenderHosts("web", "10.88.0.6")
	if string(got) != string(want) {
		t.Errorf("content:\n%s\nwant:\n%s", got, want)
	}
}

// FuzzRenderHosts checks that accepted input can never add, split or
// comment out lines: the pod's line is exactly its IP and its name.
func FuzzRenderHosts(f *testing.F) {
	f.Add("web", "10.88.0.5")
	f.Add("a\nb", "fd00::1")
	f.Add("w b", "::1")
	f.Add("web", "fe80::1%x\ny")
	f.Add("c#d", "1.2.3.4")
	f.Fuzz(func(t *testing.T, name, podIP string) {
		out, err := RenderHosts(name, podIP)
		if err != nil {
			return
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		want := strings.Count(hostsHeader, "\n")
		if podIP != "" {
			want++
		}
		if len(lines) != want {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), want, out)
		}
		if podIP != "" {
			last := strings.Split(lines[len(lines)-1], "\t")
			if len(last) != 2 || last[1] != name {
				t.Fatalf("pod line %q does not hold exactly the name %q", lines[len(lines)-1], name)
			}
		}
	})
}

// A pod with a subdomain (a StatefulSet's ordinal) is first its fully
// qualified name in /etc/hosts, in the node's cluster domain, as the
// kubelet writes it.
