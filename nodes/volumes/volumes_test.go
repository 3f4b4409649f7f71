package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/internal/testneed"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// requireRoot skips when tmpfs cannot be mounted; under CI=true it fails,
// because CI runs as root and a skip there would hide a regression.
func requireRoot(t *testing.T) {
	t.Helper()
	testneed.Root(t, "it mounts tmpfs for secret and memory volumes")
}

// newManager returns a Manager on a fresh root; the cleanup unmounts
// whatever a failed test left mounted.
func newManager(t *testing.T) *Manager {
	t.Helper()
	root := filepath.Join(t.TempDir(), "pods")
	m := New(root).WithClock(func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) })
	t.Cleanup(func() {
		if r, err := filepath.EvalSymlinks(root); err == nil {
			_ = unmountAll(r)
		}
	})
	return m
}

func isMount(t *testing.T, p string) (bool, string) {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		return false, ""
	}
	return true, ms[len(ms)-1].FSType
}

func files(kv ...string) []plan.File {
	var out []plan.File
	for i := 0; i < len(kv); i += 2 {
		out = append(out, plan.File{Path: kv[i], Mode: 0o644, Data: plan.Plain(kv[i+1])})
	}
	return out
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		// Walk through the user-visible symlink, as a container would.
		err := filepath.WalkDir(filepath.Join(dir, e.Name())+"/", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				out[rel] = string(b)
			}
			return nil
		})
		if err != nil {
			// A user-visible file (not a directory) symlink.
			b, rerr := os.ReadFile(filepath.Join(dir, e.Name()))
			if rerr != nil {
				t.Fatal(err, rerr)
			}
			out[e.Name()] = string(b)
		}
	}
	return out
}

func TestPrepareKinds(t *testing.T) {
	host := t.TempDir()
	tests := []struct {
		name  string
		root  bool // needs tmpfs
		vol   plan.Volume
		check func(t *testing.T, m *Manager, p string)
	}{
		{
			name: "emptyDir on disk",
			vol:  plan.Volume{Kind: KindEmptyDir},
			check: func(t *testing.T, m *Manager, p string) {
				fi, err := os.Stat(p)
				if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o777 {
					t.Fatalf("emptyDir %s: %v %v", p, fi, err)
				}
				if mounted, _ := isMount(t, p); mounted {
					t.Error("disk emptyDir is a mount")
				}
			},
		},
		{
			name: "emptyDir memory with size",
			root: true,
			vol:  plan.Volume{Kind: KindEmptyDir, Medium: MediumMemory, SizeLimit: 1 << 20},
			check: func(t *testing.T, m *Manager, p string) {
				if mounted, fs := isMount(t, p); !mounted || fs != "tmpfs" {
					t.Fatalf("memory emptyDir: mounted=%v fstype=%q", mounted, fs)
				}
				var st unix.Statfs_t
				if err := unix.Statfs(p, &st); err != nil {
					t.Fatal(err)
				}
				if size := int64(st.Blocks) * st.Bsize; size != 1<<20 {
					t.Errorf("tmpfs size = %d, want %d", size, 1<<20)
				}
			},
		},
		{
			name: "configMap",
			vol:  plan.Volume{Kind: KindConfigMap, Source: "cfg", Files: files("app.conf", "a=1\n", "sub/x.json", "{}")},
			check: func(t *testing.T, m *Manager, p string) {
				got := readAll(t, p)
				if got["app.conf"] != "a=1\n" || got["sub/x.json"] != "{}" || len(got) != 2 {
					t.Errorf("files = %v", got)
				}
				if l, err := os.Readlink(filepath.Join(p, "app.conf")); err != nil || l != "..data/app.conf" {
					t.Errorf("app.conf link = %q, %v", l, err)
				}
				if l, err := os.Readlink(filepath.Join(p, "..data")); err != nil || !strings.HasPrefix(l, "..2026_11_25_12_00_00.") {
					t.Errorf("..data = %q, %v", l, err)
				}
			},
		},
		{
			name: "secret on tmpfs",
			root: true,
			vol:  plan.Volume{Kind: KindSecret, Source: "s", Files: []plan.File{{Path: "token", Mode: 0o400, Data: plan.Sensitive("hunter2")}}},
			check: func(t *testing.T, m *Manager, p string) {
				if mounted, fs := isMount(t, p); !mounted || fs != "tmpfs" {
					t.Fatalf("secret dir: mounted=%v fstype=%q", mounted, fs)
				}
				var st unix.Statfs_t
				if err := unix.Statfs(filepath.Join(p, "token"), &st); err != nil {
					t.Fatal(err)
				}
				if st.Type != unix.TMPFS_MAGIC {
					t.Errorf("secret file on fs type %#x, want tmpfs", st.Type)
				}
				fi, err := os.Stat(filepath.Join(p, "token"))
				if err != nil || fi.Mode().Perm() != 0o400 {
					t.Errorf("token mode: %v %v", fi, err)
				}
				if b, _ := os.ReadFile(filepath.Join(p, "token")); string(b) != "hunter2" {
					t.Errorf("token = %q", b)
				}
			},
		},
		{
			name: "hostPath DirectoryOrCreate",
			vol:  plan.Volume{Kind: KindHostPath, Path: filepath.Join(host, "new/dir"), HostPathType: HostPathDirectoryOrCreate},
			check: func(t *testing.T, m *Manager, p string) {
				if p != filepath.Join(host, "new/dir") {
					t.Errorf("path = %s", p)
				}
				if fi, err := os.Stat(p); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
					t.Errorf("created: %v %v", fi, err)
				}
			},
		},
		{
			name: "hostPath unchecked missing",
			vol:  plan.Volume{Kind: KindHostPath, Path: filepath.Join(host, "nothing/")},
			check: func(t *testing.T, m *Manager, p string) {
				if p != filepath.Join(host, "nothing") {
					t.Errorf("path = %s", p)
				}
				if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("type \"\" must not create: %v", err)
				}
			},
		},
		{
			name: "persistentVolumeClaim",
			vol:  plan.Volume{Kind: KindPVC, Source: "data -> pv-1", Path: filepath.Join(host, "pv/pv-1")},
			check: func(t *testing.T, m *Manager, p string) {
				if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
					t.Errorf("PV dir: %v %v", fi, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				requireRoot(t)
			}
			m := newManager(t)
			tt.vol.Name = "v"
			pod := &plan.Pod{Namespace: "default", Name: "web", Spec: plan.PodSpec{Volumes: []plan.Volume{tt.vol}}}
			paths, err := m.Prepare(pod)
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != 1 || paths["v"] == "" {
				t.Fatalf("paths = %v", paths)
			}
			tt.check(t, m, paths["v"])
			// Prepare is idempotent: the same result, no second mount.
			again, err := m.Prepare(pod)
			if err != nil {
				t.Fatalf("second Prepare: %v", err)
			}
			if again["v"] != paths["v"] {
				t.Errorf("second Prepare path %s != %s", again["v"], paths["v"])
			}
			tt.check(t, m, again["v"])
			if ms, _ := mountinfo.GetMounts(mountinfo.SingleEntryFilter(paths["v"])); len(ms) > 1 {
				t.Errorf("mounted %d times", len(ms))
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	m := newManager(t)
	root, err := m.realRoot()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pod  plan.Pod
		want string
	}{
		{"PV through a symlink into root", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "a", Kind: KindPVC, Path: filepath.Join(link, "d_p", "new")}}}}, "inside berth's pod volume directory"},
		{"traversal", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "c", Kind: KindConfigMap, Files: files("../../../etc/x", "")}}}}, "must not contain \"..\""},
		{"absolute file", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "c", Kind: KindConfigMap, Files: files("/etc/x", "")}}}}, "must be relative"},
		{"reserved file", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "c", Kind: KindConfigMap, Files: files("..data", "")}}}}, "must not start"},
		{"volume name traversal", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "../x", Kind: KindEmptyDir}}}}, "volume name"},
		{"duplicate volume", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "a", Kind: KindEmptyDir}, {Name: "a", Kind: KindEmptyDir}}}}, "defined twice"},
		{"bad namespace", plan.Pod{Namespace: "..", Name: "p"}, "namespace"},
		{"namespace with _", plan.Pod{Namespace: "a_b", Name: "p"}, "'_'"},
		{"bad name", plan.Pod{Namespace: "d", Name: "a/b"}, "pod name"},
		{"unknown kind", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "a", Kind: "nfs"}}}}, "unknown volume kind"},
		{"unknown medium", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "a", Kind: KindEmptyDir, Medium: "HugePages"}}}}, "unknown emptyDir medium"},
		{"relative hostPath", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "a", Kind: KindHostPath, Path: "data"}}}}, "must be absolute"},
		{"hostPath in root", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "a", Kind: KindHostPath, Path: filepath.Join(root, "x_y")}}}}, "inside berth's pod volume directory"},
		{"unbound PVC", plan.Pod{Namespace: "d", Name: "p", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "a", Kind: KindPVC, Source: "data"}}}}, "not bound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Prepare(&tt.pod)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// A rejected plan writes nothing.
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if sub, _ := os.ReadDir(filepath.Join(root, e.Name(), volumesDir)); len(sub) > 0 {
			for _, s := range sub {
				t.Errorf("rejected plan created %s/volumes/%s", e.Name(), s.Name())
			}
		}
	}
}

func TestUpdate(t *testing.T) {
	m := newManager(t)
	vol := plan.Volume{Name: "cfg", Kind: KindConfigMap, Files: files("a", "1", "dir/b", "2", "gone", "x")}
	pod := &plan.Pod{Namespace: "default", Name: "web", Spec: plan.PodSpec{Volumes: []plan.Volume{vol}}}
	paths, err := m.Prepare(pod)
	if err != nil {
		t.Fatal(err)
	}
	dir := paths["cfg"]
	first, _ := os.Readlink(filepath.Join(dir, dataLink))

	// Unchanged: no new payload directory.
	if err := m.Update(pod); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Readlink(filepath.Join(dir, dataLink)); now != first {
		t.Errorf("no-op Update swapped ..data %s -> %s", first, now)
	}

	// Changed content, a removed key, a new nested key, a mode change.
	pod.Spec.Volumes[0].Files = []plan.File{
		{Path: "a", Mode: 0o600, Data: plan.Plain("1")},
		{Path: "dir/b", Mode: 0o644, Data: plan.Plain("22")},
		{Path: "dir/c", Mode: 0o644, Data: plan.Plain("3")},
	}
	if err := m.Update(pod); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, dir)
	want := map[string]string{"a": "1", "dir/b": "22", "dir/c": "3"}
	if len(got) != len(want) {
		t.Errorf("files = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "a")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode change not applied: %v %v", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("removed key still visible: %v", err)
	}
	// Replaced payloads stay for payloadGrace, then go; a crash's leftover
	// (unknown to the manager) goes at once.
	now := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	m.WithClock(func() time.Time { return now })
	if err := os.Mkdir(filepath.Join(dir, "..2020_01_01_00_00_00.1"), 0o755); err != nil {
		t.Fatal(err)
	}
	payloads := func() []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			if isPayloadDir(e.Name()) {
				out = append(out, e.Name())
			}
		}
		return out
	}
	for i := range 3 {
		now = now.Add(time.Second)
		pod.Spec.Volumes[0].Files[0].Data = plan.Plain(fmt.Sprint(i))
		if err := m.Update(pod); err != nil {
			t.Fatal(err)
		}
	}
	// The current payload and the three replaced within the grace; the one
	// replaced at 12:00 and the leftover are gone.
	if got := payloads(); len(got) != 4 {
		t.Errorf("payload dirs within the grace = %v, want 4", got)
	}
	now = now.Add(payloadGrace)
	if err := m.Update(pod); err != nil { // unchanged: prunes only
		t.Fatal(err)
	}
	if got := payloads(); len(got) != 1 {
		t.Errorf("payload dirs after the grace = %v, want only the current", got)
	}
	if len(m.retired) != 0 {
		t.Errorf("retired not forgotten: %v", m.retired)
	}
}

// TestAtomicSwap reads a file continuously while it is rewritten many times:
// every read must succeed and return one whole version.
func TestAtomicSwap(t *testing.T) {
	for _, kind := range []string{KindConfigMap, KindSecret} {
		t.Run(kind, func(t *testing.T) {
			if kind == KindSecret {
				requireRoot(t)
			}
			m := newManager(t)
			version := func(i int) string {
				// Larger than a page, so a torn write would be visible.
				return strings.Repeat(string(rune('a'+i%26)), 20000) + "\n"
			}
			pod := &plan.Pod{Namespace: "default", Name: "web", Spec: plan.PodSpec{Volumes: []plan.Volume{
				{Name: "v", Kind: kind, Files: files("config.txt", version(0), "other/k", "x")},
			}}}
			paths, err := m.Prepare(pod)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(paths["v"], "config.txt")
			var stop atomic.Bool
			var reads atomic.Int64
			errs := make(chan error, 4)
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					for !stop.Load() {
						b, err := os.ReadFile(file)
						if err != nil {
							errs <- err
							return
						}
						if len(b) != 20001 || b[20000] != '\n' || bytes.Count(b[:20000], b[:1]) != 20000 {
							errs <- fmt.Errorf("partial content: %d bytes", len(b))
							return
						}
						reads.Add(1)
					}
				})
			}
			for i := 1; i <= 300; i++ {
				pod.Spec.Volumes[0].Files[0].Data = plan.Plain(version(i))
				if err := m.Update(pod); err != nil {
					t.Fatal(err)
				}
			}
			stop.Store(true)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if reads.Load() == 0 {
				t.Error("readers never ran")
			}
			t.Logf("%d reads during 300 updates", reads.Load())
		})
	}
}

func BenchmarkUpdateUnchanged(b *testing.B) {
	m := New(b.TempDir())
	pod := &plan.Pod{Namespace: "default", Name: "web", Spec: plan.PodSpec{Volumes: []plan.Volume{
		{Name: "cfg", Kind: KindConfigMap, Files: files("a", strings.Repeat("x", 4096), "b", "y", "c/d", "z")},
	}}}
	if _, err := m.Prepare(pod); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Update(pod); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateChanged(b *testing.B) {
	// Steady state: each replaced payload is past its grace by the next one.
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := New(b.TempDir()).WithClock(func() time.Time { now = now.Add(payloadGrace); return now })
	pod := &plan.Pod{Namespace: "default", Name: "web", Spec: plan.PodSpec{Volumes: []plan.Volume{
		{Name: "cfg", Kind: KindConfigMap, Files: files("a", "0", "b", "y", "c/d", "z")},
	}}}
	if _, err := m.Prepare(pod); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		pod.Spec.Volumes[0].Files[0].Data = plan.Plain(strings.Repeat("x", i%100))
		if err := m.Update(pod); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentPods runs the whole life cycle of many pods at once, for
// the race detector and for the manager's locking.
func TestConcurrentPods(t *testing.T) {
	m := newManager(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			pod := &plan.Pod{Namespace: "default", Name: fmt.Sprintf("web-%d", i), Spec: plan.PodSpec{Volumes: []plan.Volume{
				{Name: "cfg", Kind: KindConfigMap, Files: files("a", "1")},
				{Name: "tmp", Kind: KindEmptyDir},
			}}}
			if _, err := m.Prepare(pod); err != nil {
				errs <- err
				return
			}
			if _, err := m.WriteHosts(pod, fmt.Sprintf("10.88.0.%d", i+2), "cluster.local"); err != nil {
				errs <- err
				return
			}
			pod.Spec.Volumes[0].Files[0].Data = plan.Plain("2")
			if err := m.Update(pod); err != nil {
				errs <- err
				return
			}
			if err := m.Remove(pod.Key()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if left, _ := os.ReadDir(m.Root()); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestUpdateWithoutConfigVolumesTouchesNothing(t *testing.T) {
	m := newManager(t)
	pod := &plan.Pod{Namespace: "default", Name: "web", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "tmp", Kind: KindEmptyDir}}}}
	if err := m.Update(pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "default_web")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Update created the pod directory: %v", err)
	}
}

// A provisioned claim is a directory beside the pod volume root, made on
// first use, shared by the pods that mount it in turn, and kept when the
// pod's own directory is removed.
func TestLocalClaim(t *testing.T) {
	state := t.TempDir()
	m := New(filepath.Join(state, "volumes"))
	pod := &plan.Pod{Namespace: "db", Name: "pg-0", Spec: plan.PodSpec{Volumes: []plan.Volume{
		{Name: "data", Kind: KindPVC, LocalClaim: "data-pg-0", Source: "data-pg-0 -> berth-local"}}}}
	paths, err := m.Prepare(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(state, "claims", "db_data-pg-0")
	if paths["data"] != want {
		t.Fatalf("path %q, want %q", paths["data"], want)
	}
	if err := os.WriteFile(filepath.Join(want, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(pod.Key()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Prepare(pod); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(want, "f")); err != nil || string(b) != "x" {
		t.Fatalf("data after the pod came back: %q, %v", b, err)
	}
	bad := &plan.Pod{Namespace: "db", Name: "pg-1", Spec: plan.PodSpec{Volumes: []plan.Volume{{Name: "data", Kind: KindPVC, LocalClaim: "../x"}}}}
	if _, err := m.Prepare(bad); err == nil {
		t.Fatal("a claim name with '/' was accepted")
	}
}
