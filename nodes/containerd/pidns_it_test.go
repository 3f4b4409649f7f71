package containerd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// pidPod is a pod whose init container and containers write their own
// pid (as they see it) to /shared/<name>.pid; "a" also writes what it
// sees of /proc, one "pid: cmdline" line per process, to /shared/procs,
// every 0.2 s; "b" exits 3 when /shared/b-exit appears.
func pidPod(name string, share bool) *plan.Pod {
	initC := shared(container("init", "sh", "-c", "echo $$ > /shared/init.pid"))
	a := shared(container("a", "sh", "-c", `echo $$ > /shared/a.pid
while :; do
  for d in /proc/[0-9]*; do echo "${d#/proc/}: $(tr '\0' ' ' < $d/cmdline 2>/dev/null)"; done > /shared/procs.tmp
  mv /shared/procs.tmp /shared/procs
  sleep 0.2
done`))
	b := shared(container("b", "sh", "-c", `echo $$ > /shared/b.pid
while [ ! -e /shared/b-exit ]; do sleep 0.1; done; rm /shared/b-exit; exit 3`))
	p := testPod(name, a, b)
	p.Spec.InitContainers = []plan.Container{initC}
	p.Spec.Volumes = []plan.Volume{{Name: "shared", Kind: "emptyDir"}}
	p.Spec.ShareProcessNamespace = share
	return p
}

// pidNSOf is the PID namespace of a host pid ("pid:[4026531836]").
func pidNSOf(t *testing.T, pid uint32) string {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// seenProcs waits until a's view of /proc holds a process whose command
// line contains want (any view, with want "") and returns that view.
func seenProcs(t *testing.T, dir, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(filepath.Join(dir, "procs"))
		last = string(b)
		if last != "" && (want == "" || strings.Contains(last, want)) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container a never saw %q; its /proc:\n%s", want, last)
	return ""
}

func readPID(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// holderOf is the running holder's host pid, checked against containerd.
func holderOf(t *testing.T, rt *Runtime, key string) uint32 {
	t.Helper()
	pd := rt.lookup(key)
	if pd == nil {
		t.Fatalf("pod %s not known", key)
	}
	pid, err := rt.holderTask(rt.ctx, holderID(pd))
	if err != nil {
		t.Fatal(err)
	}
	pd.mu.Lock()
	recorded := pd.holderPID
	pd.mu.Unlock()
	if pid == 0 || pid != recorded {
		t.Fatalf("holder of %s: task pid %d, recorded %d", key, pid, recorded)
	}
	return pid
}

// restartB makes container b exit and waits until it runs again.
func restartB(t *testing.T, rt *Runtime, key, dir string, restarts int) nodes.PodStatus {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "b-exit"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return waitPod(t, rt, key, 30*time.Second, "b restarted", func(p *nodes.PodStatus) bool {
		return p.Containers[1].RestartCount >= restarts && running(p)
	})
}

// TestShareProcessNamespace: with shareProcessNamespace, the init
// container and both containers run in one PID namespace whose PID 1 is
// the holder (`pause`): a sees b's process, no container's main process
// is PID 1; b's exit and restart keep the namespace (a, in it, is not
// touched, and the new b joins it again); removing the pod leaves no
// holder. Without it, each container has its own namespace, PID 1 is its
// own main process, and a sees nothing of b.
func TestShareProcessNamespace(t *testing.T) {
	rt := newRuntime(t)
	p := pidPod("sharepid", true)
	own := pidPod("ownpid", false)
	cleanup(t, rt, p.Key(), own.Key())
	for _, pod := range []*plan.Pod{p, own} {
		if err := rt.CreatePod(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	dir := volPath(t, rt, p.Key(), "shared")
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	holder := holderOf(t, rt, p.Key())
	procs := seenProcs(t, dir, "b-exit")
	if !strings.Contains(procs, "\n1: /pause pause \n") && !strings.HasPrefix(procs, "1: /pause pause \n") {
		t.Errorf("PID 1 is not the holder; a sees:\n%s", procs)
	}
	for _, c := range []string{"init", "a", "b"} {
		if pid := readPID(t, dir, c); pid == "1" || pid == "" {
			t.Errorf("container %s's main process has pid %q in the shared namespace, want one > 1", c, pid)
		}
	}
	aHost := taskPID(t, rt, containerID("default", p.Name, "", "a"))
	bHost := taskPID(t, rt, containerID("default", p.Name, "", "b"))
	ns := pidNSOf(t, holder)
	if got, gotB := pidNSOf(t, aHost), pidNSOf(t, bHost); got != ns || gotB != ns {
		t.Errorf("PID namespaces: holder %s, a %s, b %s", ns, got, gotB)
	}

	// b exits and is restarted: the namespace, its holder and a stay.
	bPID := readPID(t, dir, "b")
	st := restartB(t, rt, p.Key(), dir, 1)
	if st.Containers[0].RestartCount != 0 {
		t.Errorf("a restarted with b: %+v", st.Containers[0])
	}
	if got := holderOf(t, rt, p.Key()); got != holder {
		t.Errorf("holder changed across b's restart: %d -> %d", holder, got)
	}
	bHost2 := taskPID(t, rt, containerID("default", p.Name, "", "b"))
	if bHost2 == bHost {
		t.Fatalf("b's task did not change (pid %d)", bHost)
	}
	if got := pidNSOf(t, bHost2); got != ns {
		t.Errorf("restarted b runs in PID namespace %s, not the pod's %s", got, ns)
	}
	if got := taskPID(t, rt, containerID("default", p.Name, "", "a")); got != aHost {
		t.Errorf("a's task changed across b's restart: %d -> %d", aHost, got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for readPID(t, dir, "b") == bPID && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if newB := readPID(t, dir, "b"); newB == bPID || newB == "1" {
		t.Errorf("restarted b's pid %s (before %s)", newB, bPID)
	}

	// Without sharing: a is PID 1 of its own namespace and sees only itself.
	ownDir := volPath(t, rt, own.Key(), "shared")
	waitPod(t, rt, own.Key(), 60*time.Second, "running", running)
	ownProcs := seenProcs(t, ownDir, "")
	if strings.Contains(ownProcs, "b-exit") || strings.Contains(ownProcs, "pause") {
		t.Errorf("a sees another container's process without shareProcessNamespace:\n%s", ownProcs)
	}
	for _, c := range []string{"init", "a", "b"} {
		if pid := readPID(t, ownDir, c); pid != "1" {
			t.Errorf("container %s's main process has pid %q in its own namespace, want 1", c, pid)
		}
	}
	oa := taskPID(t, rt, containerID("default", own.Name, "", "a"))
	ob := taskPID(t, rt, containerID("default", own.Name, "", "b"))
	if pidNSOf(t, oa) == pidNSOf(t, ob) {
		t.Errorf("containers of a pod without shareProcessNamespace share a PID namespace")
	}
	if pd := rt.lookup(own.Key()); pd != nil {
		if _, err := rt.client.LoadContainer(rt.ctx, holderID(pd)); !errdefs.IsNotFound(err) {
			t.Errorf("a pod without shareProcessNamespace has a holder: %v", err)
		}
	}

	// Removal takes the holder with the pod.
	hid := holderID(rt.lookup(p.Key()))
	if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	assertHolderGone(t, rt, hid, holder, ns)
}

// assertHolderGone checks that the holder's container, task and process
// are gone.
func assertHolderGone(t *testing.T, rt *Runtime, id string, pid uint32, ns string) {
	t.Helper()
	if _, err := rt.client.LoadContainer(rt.ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("holder container %s left after the pod's removal: %v", id, err)
	}
	if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && got == ns {
		t.Errorf("holder process %d still runs after the pod's removal", pid)
	}
}

// TestShareProcessNamespaceReadopt: a Runtime that restarts while a pod
// shares its PID namespace finds the holder again (same process), and a
// container restarted under the new Runtime joins the same namespace.
func TestShareProcessNamespaceReadopt(t *testing.T) {
	rt := newRuntime(t)
	p := pidPod("sharepid-adopt", true)
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	dir := volPath(t, rt, p.Key(), "shared")
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	holder := holderOf(t, rt, p.Key())
	ns := pidNSOf(t, holder)
	aHost := taskPID(t, rt, containerID("default", p.Name, "", "a"))
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	rt2 := newRuntime(t)
	cleanup(t, rt2, p.Key())
	waitPod(t, rt2, p.Key(), 10*time.Second, "running", running)
	if got := holderOf(t, rt2, p.Key()); got != holder {
		t.Fatalf("holder after the restart: pid %d, want %d", got, holder)
	}
	restartB(t, rt2, p.Key(), dir, 1)
	if got := pidNSOf(t, taskPID(t, rt2, containerID("default", p.Name, "", "b"))); got != ns {
		t.Errorf("b restarted by the new Runtime runs in %s, not the pod's %s", got, ns)
	}
	if got := taskPID(t, rt2, containerID("default", p.Name, "", "a")); got != aHost {
		t.Errorf("a restarted across the daemon restart: %d -> %d", aHost, got)
	}
	seenProcs(t, dir, "b-exit")
	hid := holderID(rt2.lookup(p.Key()))
	if err := rt2.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	assertHolderGone(t, rt2, hid, holder, ns)
}

// TestShareProcessNamespaceHolderKilled: when the holder dies (the kernel
// kills the namespace's every process with it), no container starts
// again into whatever process reuses its pid: the pod is reported Failed
// with reason SandboxChanged, so that the reconciler re-creates it, and
// its removal leaves nothing.
func TestShareProcessNamespaceHolderKilled(t *testing.T) {
	rt := newRuntime(t)
	p := pidPod("sharepid-kill", true)
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	holder := holderOf(t, rt, p.Key())
	ns := pidNSOf(t, holder)
	hid := holderID(rt.lookup(p.Key()))
	cont, err := rt.client.LoadContainer(rt.ctx, hid)
	if err != nil {
		t.Fatal(err)
	}
	task, err := cont.Task(rt.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Kill(rt.ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Waited for by its reason: the containers' own exits (137, killed
	// with the holder) make the phase read Failed (Error) for a moment
	// before their restart finds the holder gone.
	st := waitPod(t, rt, p.Key(), 30*time.Second, ReasonSandboxChanged, func(p *nodes.PodStatus) bool { return p.Reason == ReasonSandboxChanged })
	if st.Phase != nodes.PhaseFailed {
		t.Errorf("pod %s with reason %s (%s), want Failed", st.Phase, st.Reason, st.Message)
	}
	if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	assertHolderGone(t, rt, hid, holder, ns)
}
