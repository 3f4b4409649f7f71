package containerd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// hostMarker makes a file on the host; a container that sees it through
// a volume mount sees the host's root.
func hostMarker(t *testing.T) string {
	t.Helper()
	m := filepath.Join(t.TempDir(), "host-root-marker")
	if err := os.WriteFile(m, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

// escapeCheck is a shell command: it prints ESCAPED when dir shows the
// host's root, CONFINED otherwise.
func escapeCheck(dir, marker string) string {
	return "if [ -e " + dir + marker + " ]; then echo ESCAPED; else echo CONFINED; fi"
}

// waitConfigError waits until the container is refused a start with
// CreateContainerConfigError; it fails at once if the container saw the
// host's root.
func waitConfigError(t *testing.T, rt *Runtime, key, ctr string) {
	t.Helper()
	var got nodes.ContainerStatus
	var buf bytes.Buffer
	waitPod(t, rt, key, 60*time.Second, ctr+" refused with CreateContainerConfigError", func(p *nodes.PodStatus) bool {
		buf.Reset()
		if err := rt.Logs(ctx, key, ctr, false, false, &buf); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "ESCAPED") {
			t.Fatalf("%s saw the host's root through its subPath:\n%s", ctr, buf.String())
		}
		for _, c := range p.Containers {
			if c.Name == ctr {
				got = c
				return c.Reason == "CreateContainerConfigError"
			}
		}
		return false
	})
	if !strings.Contains(got.Message, "outside the volume") {
		t.Errorf("%s: message %q does not say why", ctr, got.Message)
	}
}

// mountsX is a volumeMount of the volume "shared" at path that reaches
// the entry x: by subPath, or by a subPathExpr expanded from env.
type mountsX func(c *plan.Container, path string)

var subPathKinds = []struct {
	name  string
	mount mountsX
}{
	{"subPath", func(c *plan.Container, path string) {
		c.VolumeMounts = append(c.VolumeMounts, plan.VolumeMount{Name: "shared", MountPath: path, SubPath: "x"})
	}},
	{"subPathExpr", func(c *plan.Container, path string) {
		c.Env = append(c.Env, plan.EnvVar{Name: "ENTRY", Value: plan.Plain("x")})
		c.VolumeMounts = append(c.VolumeMounts, plan.VolumeMount{Name: "shared", MountPath: path, SubPathExpr: "$(ENTRY)"})
	}},
}

// A container plants a symlink to / in an emptyDir before another
// container of the pod starts with that subPath (CVE-2017-1002101): the
// start is refused, and a subPath that stays inside the volume works.
func TestSubPathSymlinkPlantedBeforeStart(t *testing.T) {
	for _, kind := range subPathKinds {
		t.Run(kind.name, func(t *testing.T) {
			rt := newRuntime(t)
			marker := hostMarker(t)
			plant := container("plant", "sh", "-c", "ln -s / /shared/x")
			plant.VolumeMounts = []plan.VolumeMount{{Name: "shared", MountPath: "/shared"}}
			victim := container("victim", "sh", "-c", escapeCheck("/escape", marker)+"; sleep 3600")
			kind.mount(&victim, "/escape")
			fine := container("fine", "sh", "-c", "echo hello > /data/hello; sleep 3600")
			fine.Env = []plan.EnvVar{{Name: "POD_NAME", FieldRef: "metadata.name"}}
			fine.VolumeMounts = []plan.VolumeMount{{Name: "shared", MountPath: "/data", SubPath: "data/dir"}}
			if kind.name == "subPathExpr" {
				fine.VolumeMounts[0].SubPath, fine.VolumeMounts[0].SubPathExpr = "", "data/$(POD_NAME)"
			}
			name := strings.ToLower(kind.name) + "-before"
			p := testPod(name, victim, fine)
			p.Spec.InitContainers = []plan.Container{plant}
			p.Spec.Volumes = []plan.Volume{{Name: "shared", Kind: "emptyDir"}}
			cleanup(t, rt, p.Key())
			if err := rt.CreatePod(ctx, p); err != nil {
				t.Fatal(err)
			}
			waitConfigError(t, rt, p.Key(), "victim")
			want := filepath.Join(testStateDir, "volumes", "default_"+name, "volumes", "shared", "data/dir/hello")
			if kind.name == "subPathExpr" {
				want = filepath.Join(testStateDir, "volumes", "default_"+name, "volumes", "shared", "data", name, "hello")
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				b, err := os.ReadFile(want)
				if err == nil && string(b) == "hello\n" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a %s inside the volume does not work: %q %v", kind.name, b, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// A container swaps a directory another container mounts by subPath for
// a symlink to / while the pod runs; when that container restarts, its
// subPath is resolved again and refused.
func TestSubPathSymlinkSwappedBeforeRestart(t *testing.T) {
	for _, kind := range subPathKinds {
		t.Run(kind.name, func(t *testing.T) {
			rt := newRuntime(t)
			marker := hostMarker(t)
			attacker := container("attacker", "sh", "-c",
				"mkdir -p /shared/x; sleep 1; mv /shared/x /shared/old && ln -s / /shared/x && echo SWAPPED; sleep 3600")
			attacker.VolumeMounts = []plan.VolumeMount{{Name: "shared", MountPath: "/shared"}}
			victim := container("victim", "sh", "-c", escapeCheck("/escape", marker)+"; sleep 2; exit 1")
			kind.mount(&victim, "/escape")
			p := testPod(strings.ToLower(kind.name)+"-restart", attacker, victim)
			p.Spec.Volumes = []plan.Volume{{Name: "shared", Kind: "emptyDir"}}
			cleanup(t, rt, p.Key())
			if err := rt.CreatePod(ctx, p); err != nil {
				t.Fatal(err)
			}
			waitLog(t, rt, p.Key(), "victim", "CONFINED", 60*time.Second)
			waitLog(t, rt, p.Key(), "attacker", "SWAPPED", 20*time.Second)
			waitConfigError(t, rt, p.Key(), "victim")
		})
	}
}

func TestExpandSubPath(t *testing.T) {
	envs := []string{"A=a", "POD=web-0", "EMPTY=", "A=last"}
	tests := []struct{ expr, want, err string }{
		{"logs/$(POD)", "logs/web-0", ""},
		{"$(A)/$(POD)", "last/web-0", ""},
		{"$$(POD)", "$(POD)", ""},
		{"a$b", "a$b", ""},
		{"trailing$", "trailing$", ""},
		{"open$(POD", "open$(POD", ""},
		{"$(NOPE)/$(EMPTY)/$(NOPE)", "", "missing value for EMPTY, NOPE"},
	}
	for _, tt := range tests {
		got, err := expandSubPath(tt.expr, envs)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("expandSubPath(%q) = %q, %v; want error %q", tt.expr, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expandSubPath(%q) = %q, %v; want %q", tt.expr, got, err, tt.want)
		}
	}
}
