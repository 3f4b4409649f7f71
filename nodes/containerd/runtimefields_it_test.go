package containerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// sharedDir is a directory bind-mounted on itself as a shared mount (as
// systemd makes /), removed with everything mounted under it at the end.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", dir, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		unix.Unmount(dir, unix.MNT_DETACH)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestMountPropagation: with HostToContainer a mount the node makes
// under the volume appears in the container; with Bidirectional (a
// privileged container) the container's mount appears on the node; with
// None neither; a volume whose node mount is private is refused for
// HostToContainer, with what to do.
func TestMountPropagation(t *testing.T) {
	rt := newRuntime(t)
	dir := sharedDir(t)
	for _, d := range []string{"from-host", "from-ctr", "none"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	watch := container("app", "sh", "-c", `echo up; while :; do
[ -e /vol/from-host/marker ] && echo seen-host-mount
[ -e /none/from-host/marker ] && echo seen-through-none
sleep 0.2; done`)
	watch.VolumeMounts = []plan.VolumeMount{{Name: "vol", MountPath: "/vol", MountPropagation: "HostToContainer"}, {Name: "vol", MountPath: "/none"}}
	bidi := container("app", "sh", "-c", `mount -t tmpfs ctr /vol/from-ctr && echo x > /vol/from-ctr/marker && echo mounted; sleep 3600`)
	bidi.VolumeMounts = []plan.VolumeMount{{Name: "vol", MountPath: "/vol", MountPropagation: "Bidirectional"}}
	bidi.SecurityContext = &plan.SecurityContext{Privileged: true}
	private := container("app", "sh", "-c", "sleep 3600")
	private.VolumeMounts = []plan.VolumeMount{{Name: "priv", MountPath: "/priv", MountPropagation: "HostToContainer"}}
	hostVol := func(name, path string) plan.Volume { return plan.Volume{Name: name, Kind: "hostPath", Path: path} }
	pw, pb, pp := testPod("prop-watch", watch), testPod("prop-bidi", bidi), testPod("prop-private", private)
	pw.Spec.Volumes = []plan.Volume{hostVol("vol", dir)}
	pb.Spec.Volumes = []plan.Volume{hostVol("vol", dir)}
	privDir := t.TempDir() // on the test machine's root mount
	pp.Spec.Volumes = []plan.Volume{hostVol("priv", privDir)}
	cleanup(t, rt, pw.Key(), pb.Key(), pp.Key())
	for _, p := range []*plan.Pod{pw, pb, pp} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitLog(t, rt, pw.Key(), "app", "up", 60*time.Second)
	// The node mounts under the volume after the container started.
	hostMnt := filepath.Join(dir, "from-host")
	if err := unix.Mount("host", hostMnt, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hostMnt, "marker"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := waitLog(t, rt, pw.Key(), "app", "seen-host-mount", 30*time.Second)
	if strings.Contains(log, "seen-through-none") {
		t.Error("a mount with propagation None saw the node's mount")
	}
	waitLog(t, rt, pb.Key(), "app", "mounted", 60*time.Second)
	if b, err := os.ReadFile(filepath.Join(dir, "from-ctr", "marker")); err != nil || string(b) != "x\n" {
		t.Errorf("the node does not see the Bidirectional container's mount: %q, %v", b, err)
	}
	if ok, mp := ensureSharedOrFine(privDir); !ok {
		waitPod(t, rt, pp.Key(), 30*time.Second, "refused: not a shared mount", func(p *nodes.PodStatus) bool {
			return p.Reason == "CreateContainerError" && strings.Contains(p.Message, "is mounted on "+`"`+mp+`"`) &&
				strings.Contains(p.Message, "mount --make-rshared")
		})
	}
}

// ensureSharedOrFine reports whether the test machine happens to make
// dir's mount shared (systemd's /); the refusal can only be seen when not.
func ensureSharedOrFine(dir string) (bool, string) {
	err := ensureShared(dir, true)
	if err == nil {
		return true, ""
	}
	msg := err.Error()
	i := strings.Index(msg, "is mounted on \"")
	rest := msg[i+len("is mounted on \""):]
	return false, rest[:strings.IndexByte(rest, '"')]
}

// TestTerminationMessage: the file at terminationMessagePath becomes the
// status message of the run that wrote it; with FallbackToLogsOnError a
// failed run that wrote none gets the end of its log; a custom path on
// a read-only root filesystem works.
func TestTerminationMessage(t *testing.T) {
	rt := newRuntime(t)
	file := container("app", "sh", "-c", "echo -n 'all done' > /dev/termination-log; echo log-line")
	fallback := container("app", "sh", "-c", "echo first; echo 'disk full'; exit 3")
	fallback.TerminationMessagePolicy = plan.TerminationMessageFallbackToLogsOnErr
	custom := container("app", "sh", "-c", "echo -n 'custom path' > /run/msg; exit 1")
	custom.TerminationMessagePath = "/run/msg"
	custom.SecurityContext = &plan.SecurityContext{ReadOnlyRootFilesystem: true}
	pods := []*plan.Pod{testPod("term-file", file), testPod("term-fallback", fallback), testPod("term-custom", custom)}
	var keys []string
	for _, p := range pods {
		p.Spec.RestartPolicy = "Never"
		keys = append(keys, p.Key())
	}
	cleanup(t, rt, keys...)
	for _, p := range pods {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []string{"all done", "first\ndisk full\n", "custom path"} {
		st := waitPod(t, rt, pods[i].Key(), 60*time.Second, "terminated", func(p *nodes.PodStatus) bool {
			return len(p.Containers) == 1 && p.Containers[0].State == nodes.StateTerminated
		})
		if got := st.Containers[0].Message; got != want {
			t.Errorf("%s: message %q, want %q", pods[i].Name, got, want)
		}
	}
}

// TestStdinAndTTY: with stdin the container's standard input stays open
// (cat waits) and without it reads end at once; with tty its output is
// a terminal, logged like any other.
func TestStdinAndTTY(t *testing.T) {
	rt := newRuntime(t)
	script := `echo start; cat; echo eof`
	open, closed := container("app", "sh", "-c", script), container("app", "sh", "-c", script)
	open.Stdin = true
	tty := container("app", "sh", "-c", `if [ -t 1 ]; then echo stdout-is-a-tty; fi; echo done; sleep 3600`)
	tty.TTY = true
	ttyStdin := container("app", "sh", "-c", `echo start; cat; echo eof`)
	ttyStdin.TTY, ttyStdin.Stdin = true, true
	po, pc, pt, pts := testPod("stdin-open", open), testPod("stdin-closed", closed), testPod("tty", tty), testPod("tty-stdin", ttyStdin)
	pc.Spec.RestartPolicy = "Never"
	cleanup(t, rt, po.Key(), pc.Key(), pt.Key(), pts.Key())
	for _, p := range []*plan.Pod{po, pc, pt, pts} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitLog(t, rt, pc.Key(), "app", "eof", 60*time.Second)
	waitLog(t, rt, pt.Key(), "app", "stdout-is-a-tty", 60*time.Second)
	waitLog(t, rt, po.Key(), "app", "start", 60*time.Second)
	waitLog(t, rt, pts.Key(), "app", "start", 60*time.Second)
	time.Sleep(2 * time.Second)
	for _, p := range []*plan.Pod{po, pts} {
		if log := readLog(t, rt, p.Key(), "app"); strings.Contains(log, "eof") {
			t.Errorf("%s: stdin reached its end:\n%s", p.Name, log)
		}
		st := waitPod(t, rt, p.Key(), 5*time.Second, "running", running)
		if st.Containers[0].RestartCount != 0 {
			t.Errorf("%s restarted", p.Name)
		}
	}
}
