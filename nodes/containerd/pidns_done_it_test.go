package containerd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// jobPIDPod is a Job-like pod (restartPolicy Never) that shares its PID
// namespace: "a" prints a-done and exits 0 at once; "b" waits for
// /shared/go, prints b-done and exits with code.
func jobPIDPod(name string, code int) *plan.Pod {
	a := shared(container("a", "sh", "-c", "echo a-done"))
	b := shared(container("b", "sh", "-c", fmt.Sprintf(`while [ ! -e /shared/go ]; do sleep 0.1; done; echo b-done; exit %d`, code)))
	p := testPod(name, a, b)
	p.Spec.Volumes = []plan.Volume{{Name: "shared", Kind: "emptyDir"}}
	p.Spec.RestartPolicy = RestartNever
	p.Spec.ShareProcessNamespace = true
	return p
}

// aDoneBRuns: a has completed, b still runs (the pod is Running).
func aDoneBRuns(p *nodes.PodStatus) bool {
	return p.Phase == nodes.PhaseRunning && len(p.Containers) == 2 &&
		p.Containers[0].State == nodes.StateTerminated && p.Containers[1].State == nodes.StateRunning
}

// holderStays checks for a second that the holder of a pod that still
// runs stays, with the same pid.
func holderStays(t *testing.T, rt *Runtime, key string, pid uint32) {
	t.Helper()
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got := holderOf(t, rt, key); got != pid {
			t.Fatalf("holder of the running pod %s changed: %d -> %d", key, pid, got)
		}
	}
}

// shimOf is the pid of a running shim serving container id, 0 if none.
func shimOf(id string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !bytes.Contains(b, []byte("containerd-shim")) {
			continue
		}
		if bytes.Contains(b, []byte("\x00-id\x00"+id+"\x00")) {
			var pid int
			fmt.Sscanf(filepath.Base(d), "%d", &pid)
			return pid
		}
	}
	return 0
}

// waitHolderGone waits until the holder's container (and so its task:
// containerd deletes no container that has one) is gone, then checks that
// its process and its shim are gone too and that the pod forgot its pid.
func waitHolderGone(t *testing.T, rt *Runtime, key, id string, pid uint32, ns string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := rt.client.LoadContainer(rt.ctx, id)
		if errdefs.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("holder container %s of the finished pod %s still there: %v", id, key, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && got == ns {
		t.Errorf("holder process %d still runs", pid)
	}
	for shimOf(id) != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if shim := shimOf(id); shim != 0 {
		t.Errorf("holder %s's shim (pid %d) still runs", id, shim)
	}
	pd := rt.lookup(key)
	pd.mu.Lock()
	recorded := pd.holderPID
	pd.mu.Unlock()
	if recorded != 0 {
		t.Errorf("pod %s still records holder pid %d", key, recorded)
	}
}

// checkFinished checks the status and logs of a finished jobPIDPod: they
// read as before its holder went.
func checkFinished(t *testing.T, rt *Runtime, key, phase string, codeB int, reasonB string) {
	t.Helper()
	st, err := rt.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := st.Pod(key)
	if p == nil {
		t.Fatalf("pod %s no longer reported", key)
	}
	if p.Phase != phase {
		t.Errorf("phase %s (reason %q), want %s", p.Phase, p.Reason, phase)
	}
	want := []struct {
		code   int
		reason string
	}{{0, "Completed"}, {codeB, reasonB}}
	for i, c := range p.Containers {
		if c.State != nodes.StateTerminated || c.ExitCode != want[i].code || c.Reason != want[i].reason || c.RestartCount != 0 {
			t.Errorf("container %s: %s exit %d reason %q restarts %d, want terminated exit %d reason %q",
				c.Name, c.State, c.ExitCode, c.Reason, c.RestartCount, want[i].code, want[i].reason)
		}
	}
	waitLog(t, rt, key, "a", "a-done", 5*time.Second)
	waitLog(t, rt, key, "b", "b-done", 5*time.Second)
}

// removeAndCheck removes the pod and checks that containerd holds nothing
// of it any more.
func removeAndCheck(t *testing.T, rt *Runtime, key, name string) {
	t.Helper()
	if err := rt.RemovePod(ctx, key, time.Time{}); err != nil {
		t.Fatal(err)
	}
	left, err := rt.client.Containers(rt.ctx, fmt.Sprintf(`labels."%s"==%q`, nodes.LabelPod, name))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range left {
		t.Errorf("container %s of the removed pod %s left", c.ID(), key)
	}
}

// TestShareProcessNamespaceJobDone: the holder of a Job-like pod stays
// while one of its containers still runs, and goes (container, task,
// process, shim) once the pod has Succeeded, as the kubelet stops a
// terminal pod's sandbox; the pod's status (phase, exit codes, reasons)
// and logs read as before, and its removal leaves nothing.
func TestShareProcessNamespaceJobDone(t *testing.T) {
	rt := newRuntime(t)
	p := jobPIDPod("sharepid-job", 0)
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	dir := volPath(t, rt, p.Key(), "shared")
	waitPod(t, rt, p.Key(), 60*time.Second, "a done, b running", aDoneBRuns)
	holder := holderOf(t, rt, p.Key())
	ns := pidNSOf(t, holder)
	hid := holderID(rt.lookup(p.Key()))
	holderStays(t, rt, p.Key(), holder)
	if shimOf(hid) == 0 {
		t.Fatalf("no shim found for the running holder %s", hid)
	}

	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 30*time.Second, "Succeeded", func(p *nodes.PodStatus) bool { return p.Phase == nodes.PhaseSucceeded })
	waitHolderGone(t, rt, p.Key(), hid, holder, ns)
	checkFinished(t, rt, p.Key(), nodes.PhaseSucceeded, 0, "Completed")
	removeAndCheck(t, rt, p.Key(), p.Name)
}

// TestShareProcessNamespaceJobDoneReadopt: a Job-like pod that finishes
// (Failed, exit 3) while no daemon runs keeps its holder until the next
// daemon re-adopts it: that one removes the holder and reports the pod's
// phase and exit codes as they were.
func TestShareProcessNamespaceJobDoneReadopt(t *testing.T) {
	rt := newRuntime(t)
	p := jobPIDPod("sharepid-job-adopt", 3)
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	dir := volPath(t, rt, p.Key(), "shared")
	waitPod(t, rt, p.Key(), 60*time.Second, "a done, b running", aDoneBRuns)
	holder := holderOf(t, rt, p.Key())
	ns := pidNSOf(t, holder)
	hid := holderID(rt.lookup(p.Key()))
	bHost := taskPID(t, rt, containerID("default", p.Name, "", "b"))
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}

	// b finishes while no daemon runs; the holder stays meanwhile.
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", bHost)); err != nil || got != ns {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b (pid %d) never exited", bHost)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", holder)); err != nil || got != ns {
		t.Fatalf("holder %d went while no daemon ran: %v", holder, err)
	}

	rt2 := newRuntime(t)
	cleanup(t, rt2, p.Key())
	waitPod(t, rt2, p.Key(), 30*time.Second, "Failed", func(p *nodes.PodStatus) bool { return p.Phase == nodes.PhaseFailed })
	waitHolderGone(t, rt2, p.Key(), hid, holder, ns)
	checkFinished(t, rt2, p.Key(), nodes.PhaseFailed, 3, "Error")
	removeAndCheck(t, rt2, p.Key(), p.Name)
}
