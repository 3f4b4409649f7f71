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
	entries := []plan.HostEntry{
		{IP: "10.96.0.10", Names: []string{"hello", "hello.default", "hello.default.svc.cluster.local"}},
		{IP: "fd00::a", Names: []string{"v6", "v6.default", "v6.default.svc.cluster.local"}},
	}
	got, err := RenderHosts("default", "web-0", "10.88.0.5", entries)
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
		name    string
		podIP   string
		entries []plan.HostEntry
		want    string
	}{
		{"bad pod IP", "10.88.0.300", nil, "pod IP"},
		{"bad entry IP", "10.88.0.5", []plan.HostEntry{{IP: "x", Names: []string{"a"}}}, "IP \"x\""},
		{"zone injection", "fe80::1%a\n1.2.3.4 evil", nil, "zone is not allowed"},
		{"no names", "10.88.0.5", []plan.HostEntry{{IP: "10.0.0.1"}}, "no names"},
		{"newline injection", "10.88.0.5", []plan.HostEntry{{IP: "10.0.0.1", Names: []string{"a\n1.2.3.4 evil"}}}, "without blanks"},
		{"empty name", "10.88.0.5", []plan.HostEntry{{IP: "10.0.0.1", Names: []string{""}}}, "without blanks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RenderHosts("default", "web", tt.podIP, tt.entries)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRenderHostsNoPodIP(t *testing.T) {
	got, err := RenderHosts("default", "web", "", nil)
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
	p, err := m.WriteHosts(pod, "10.88.0.5")
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
	pod.Spec.Hosts = []plan.HostEntry{{IP: "10.96.0.1", Names: []string{"api"}}}
	if _, err := m.WriteHosts(pod, "10.88.0.5"); err != nil {
		t.Fatal(err)
	}
	// And shrinking must truncate.
	pod.Spec.Hosts = nil
	if _, err := m.WriteHosts(pod, "10.88.0.6"); err != nil {
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
	want, _ := RenderHosts("default", "web", "10.88.0.6", nil)
	if string(got) != string(want) {
		t.Errorf("content:\n%s\nwant:\n%s", got, want)
	}
}

func BenchmarkRenderHosts(b *testing.B) {
	var entries []plan.HostEntry
	for i := range 50 {
		n := "svc" + string(rune('a'+i%26))
		entries = append(entries, plan.HostEntry{IP: "10.96.0.10", Names: []string{n, n + ".default", n + ".default.svc.cluster.local"}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderHosts("default", "web", "10.88.0.5", entries); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzRenderHosts checks that accepted input can never add, split or
// comment out lines: every entry is exactly one line with its IP first.
func FuzzRenderHosts(f *testing.F) {
	f.Add("web", "10.88.0.5", "10.96.0.1", "api", "api.default")
	f.Add("web", "", "fd00::1", "a\nb", "c#d")
	f.Add("w b", "::1", "1.2.3.4", "", " ")
	f.Add("web", "fe80::1%x\ny", "fe80::2%a#b", "a", "b")
	f.Fuzz(func(t *testing.T, name, podIP, ip, n1, n2 string) {
		entries := []plan.HostEntry{{IP: ip, Names: []string{n1, n2}}}
		out, err := RenderHosts("default", name, podIP, entries)
		if err != nil {
			return
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		want := strings.Count(hostsHeader, "\n") + 2 + 1 // header, blank+comment, entry
		if podIP != "" {
			want++
		}
		if len(lines) != want {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), want, out)
		}
		last := strings.Split(lines[len(lines)-1], "\t")
		if len(last) != 3 || last[1] != n1 || last[2] != n2 {
			t.Fatalf("entry line %q does not hold exactly the names %q %q", lines[len(lines)-1], n1, n2)
		}
	})
}
