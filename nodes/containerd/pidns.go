package containerd

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/nodes"
)

// A pod with shareProcessNamespace runs all its containers in one PID
// namespace, as the kubelet does, whose PID 1 is a holder: the
// kubelet's pause container. It reaps the zombies the namespace's
// orphans leave and lives as long as the pod, so any container may exit
// and restart without taking the namespace (and the other containers'
// processes) with it.
//
// The holder is a containerd container of its own, `berth pause` (the
// daemon's own binary, PauseArg), not a process the daemon forks: its
// shim keeps it running while the daemon is down or restarts (a child
// of the daemon would die with the daemon's service), containerd's labels
// find it again after a restart (adoptHolder), and the pod's removal
// deletes it like the pod's other containers, so nothing is left behind.
// Its root is an empty read-only directory holding only the binary and,
// for a binary linked dynamically, its loader and libraries (bound read
// only): the others see /proc/1/root, which must show nothing of the
// node. It runs as 65535:65535 (the pause image's user) without
// capabilities, with no_new_privs and containerd's default seccomp.
// The containers join it by /proc/<pid>/ns/pid, as containerd's CRI
// joins its sandbox's; a container is started only while that pid is
// still the holder's (checkHolder), never into whatever reused it.

// PauseArg makes a berth binary the holder of a pod's shared PID
// namespace: `berth pause`.
const PauseArg = "pause"

// labelHolder marks the holder container of a pod (its value: "pid").
const labelHolder = "berth.dev/holder"

// holderUID is the user the holder runs as (the pause image's).
const holderUID = 65535

// holderName is the holder's container name in its labels and id: not a
// DNS label, so no container of the pod can have it.
const holderName = "POD"

// RunPause is the holder: PID 1 of the pod's PID namespace. It reaps the
// children it inherits and exits 0 on SIGINT or SIGTERM, as the
// kubelet's pause does (a PID 1 ignores the signals it has no handler
// for).
func RunPause() int {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return 0
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}

func holderID(pd *pod) string {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return containerID(pd.spec.Namespace, pd.spec.Name, pd.id, holderName)
}

// sharesPID reports whether the pod's containers share a PID namespace.
func sharesPID(pd *pod) bool {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.spec.Spec.ShareProcessNamespace && !pd.spec.Spec.HostPID
}

// startHolder creates and starts the holder of a pod that shares its PID
// namespace (one left by an earlier pod of the same name is replaced)
// and records its pid.
func (r *Runtime) startHolder(ctx context.Context, pd *pod) error {
	if !sharesPID(pd) {
		return nil
	}
	if err := r.runHolder(ctx, pd); err != nil {
		return fmt.Errorf("process namespace holder: %w", err)
	}
	return nil
}

func (r *Runtime) runHolder(ctx context.Context, pd *pod) error {
	ctx = r.nsCtx(ctx)
	id := holderID(pd)
	if err := r.deleteHolder(ctx, id); err != nil {
		return fmt.Errorf("remove leftover holder: %w", err)
	}
	exe := r.opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("the binary to run as `berth %s`: %w", PauseArg, err)
		}
	}
	mounts, err := holderMounts(exe)
	if err != nil {
		return err
	}
	root := filepath.Join(r.opts.RunDir, "pause")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	labels := map[string]string{
		nodes.LabelPod:       pd.spec.Name,
		nodes.LabelNamespace: pd.spec.Namespace,
		nodes.LabelPodHash:   pd.spec.Hash,
		nodes.LabelContainer: holderName,
		nodes.LabelManaged:   "true",
		labelPodID:           pd.id,
		labelHolder:          "pid",
	}
	cont, err := r.client.NewContainer(ctx, id,
		containerd.WithNewSpec(
			oci.WithRootFSPath(root),
			oci.WithRootFSReadonly(),
			oci.WithProcessArgs("/pause", PauseArg),
			oci.WithProcessCwd("/"),
			oci.WithUIDGID(holderUID, holderUID),
			oci.WithCapabilities([]string{}),
			oci.WithAmbientCapabilities([]string{}),
			oci.WithNoNewPrivileges,
			oci.WithMounts(mounts),
			seccomp.WithDefaultProfile(),
		),
		containerd.WithContainerLabels(labels),
	)
	if err != nil {
		return fmt.Errorf("create holder: %w", err)
	}
	t, err := cont.NewTask(ctx, cio.NullIO)
	if err != nil {
		cont.Delete(ctx)
		return fmt.Errorf("create holder task: %w", err)
	}
	if err := t.Start(ctx); err != nil {
		t.Delete(ctx, containerd.WithProcessKill)
		cont.Delete(ctx)
		return fmt.Errorf("start holder: %w", err)
	}
	pd.mu.Lock()
	pd.holderPID = t.Pid()
	pd.mu.Unlock()
	return nil
}

// holderMounts binds the binary at /pause and, when it is linked
// dynamically, its loader and libraries at their own paths, all read
// only.
func holderMounts(exe string) ([]specs.Mount, error) {
	bind := func(src, dst string) specs.Mount {
		return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "ro", "nosuid", "nodev"}}
	}
	out := []specs.Mount{bind(exe, "/pause")}
	f, err := elf.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("the holder binary %s: %w", exe, err)
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, fmt.Errorf("the holder binary %s: loader: %w", exe, err)
			}
			interp = string(b[:len(b)-1]) // NUL-terminated
		}
	}
	if interp == "" {
		return out, nil // static
	}
	out = append(out, bind(interp, interp))
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("the holder binary %s: libraries: %w", exe, err)
	}
	for _, lib := range libs {
		path, err := findLibrary(lib, filepath.Dir(interp))
		if err != nil {
			return nil, fmt.Errorf("the holder binary %s: %w (build berth with CGO_ENABLED=0 for a static binary)", exe, err)
		}
		out = append(out, bind(path, path))
	}
	return out, nil
}

// findLibrary looks for a shared library where the loader looks without
// its cache: the multiarch and plain library directories.
func findLibrary(name, interpDir string) (string, error) {
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu", "arm": "arm-linux-gnueabihf", "riscv64": "riscv64-linux-gnu", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu"}[runtime.GOARCH]
	dirs := []string{"/lib/" + triplet, "/usr/lib/" + triplet, interpDir, "/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("library %s not found in %v", name, dirs)
}

// podPIDNamespace is the PID namespace the pod's containers join: ""
// (each its own, or the host's) unless the pod shares one.
func (r *Runtime) podPIDNamespace(pd *pod) (string, error) {
	if !sharesPID(pd) {
		return "", nil
	}
	pd.mu.Lock()
	pid := pd.holderPID
	pd.mu.Unlock()
	if pid == 0 {
		return "", fmt.Errorf("the pod's process namespace holder is not running")
	}
	return fmt.Sprintf("/proc/%d/ns/pid", pid), nil
}

// errHolderGone: the holder died, so its pid (and the path the
// containers join by) may now be another process's.
var errHolderGone = errors.New("the pod's process namespace holder (its PID 1) is gone; the pod must be created again")

// ReasonSandboxChanged is the reason of a container of a pod whose
// holder died (the kernel kills every process of the namespace with its
// PID 1): the pod is reported Failed, and the reconciler replaces it with
// a new holder, as the kubelet kills and re-creates a pod whose sandbox
// changed (its event of that name).
const ReasonSandboxChanged = "SandboxChanged"

// holderLost records that c cannot start again because the pod's holder
// is gone.
func (r *Runtime) holderLost(pd *pod, c *ctr) {
	r.log.Warn("process namespace holder gone; the pod is re-created", "pod", pd.key, "container", c.spec.Name)
	pd.mu.Lock()
	c.state.State, c.state.Reason, c.state.Message = nodes.StateTerminated, ReasonSandboxChanged, errHolderGone.Error()
	c.state.Ready = false
	pd.mu.Unlock()
	r.updateReady(pd)
}

// checkHolder fails unless the holder still runs with the pid the
// containers' specs name.
func (r *Runtime) checkHolder(ctx context.Context, pd *pod) error {
	if !sharesPID(pd) {
		return nil
	}
	pd.mu.Lock()
	want := pd.holderPID
	pd.mu.Unlock()
	pid, err := r.holderTask(ctx, holderID(pd))
	if err != nil {
		return err
	}
	if pid != 0 && want == 0 {
		// Re-adoption could not look (containerd did not answer): only
		// startHolder makes a holder and none is ever restarted, so a
		// running one is the pod's own.
		pd.mu.Lock()
		pd.holderPID, want = pid, pid
		pd.mu.Unlock()
	}
	if pid == 0 || pid != want {
		return errHolderGone
	}
	return nil
}

// holderTask is the pid of the running holder id, 0 when it runs no more.
func (r *Runtime) holderTask(ctx context.Context, id string) (uint32, error) {
	ctx = r.nsCtx(ctx)
	cont, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load holder %s: %w", id, err)
	}
	t, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("holder %s task: %w", id, err)
	}
	st, err := t.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("holder %s status: %w", id, err)
	}
	if st.Status != containerd.Running && st.Status != containerd.Paused {
		return 0, nil
	}
	return t.Pid(), nil
}

// adoptHolder finds the holder of a re-adopted pod again. A holder that
// is gone leaves the pid unknown: the pod's containers cannot start again
// (checkHolder), and they say why. A finished pod's holder is gone by
// design (endHolder); one still there is removed when the re-adopted
// pod's supervision ends, at once.
func (r *Runtime) adoptHolder(ctx context.Context, pd *pod) {
	if !sharesPID(pd) {
		return
	}
	pid, err := r.holderTask(ctx, holderID(pd))
	if err != nil || pid == 0 {
		pd.mu.Lock()
		stopped := pd.stopped
		pd.mu.Unlock()
		if !stopped && !finished(pd) {
			r.log.Warn("process namespace holder not found", "pod", pd.key, "err", err)
		}
		return
	}
	pd.mu.Lock()
	pd.holderPID = pid
	pd.mu.Unlock()
}

// removeHolder deletes the pod's holder: every process left in the
// namespace dies with its PID 1.
func (r *Runtime) removeHolder(ctx context.Context, pd *pod) error {
	if !sharesPID(pd) {
		return nil
	}
	if err := r.deleteHolder(r.nsCtx(ctx), holderID(pd)); err != nil {
		return fmt.Errorf("process namespace holder: %w", err)
	}
	pd.mu.Lock()
	pd.holderPID = 0
	pd.mu.Unlock()
	return nil
}

// deleteHolder deletes the holder container id and its task, if there is
// one (deleteContainer would look for an orphan task of a missing one,
// and a holder is missing after each StopPod).
func (r *Runtime) deleteHolder(ctx context.Context, id string) error {
	if _, err := r.client.LoadContainer(ctx, id); errdefs.IsNotFound(err) {
		return nil
	}
	return r.deleteContainer(ctx, id)
}

// endHolder removes the holder of a pod that has finished for good: its
// supervision is over (no container will start or restart again), the
// pod is not being stopped, its phase is Succeeded or Failed and no
// container runs. The kubelet does the same: once a pod's phase is
// terminal its pod worker terminates it (SyncTerminatingPod, then
// kuberuntime's killPodWithSyncResult stops the containers and then
// StopPodSandbox stops the sandbox: the pause process dies) and keeps
// the exited containers, their status and logs until the pod is deleted.
// Here the containers, their labels (exit codes) and logs stay as they
// are; only the holder's container, task, process and shim go. Its pid
// is forgotten: no container joins the namespace again (checkHolder).
// Called by the supervision goroutine before pd.done closes, so a
// StopPod or RemovePod that begins meanwhile (they wait for pd.done
// before removeHolder) never deletes it concurrently. A re-adopted pod
// that finished while no daemon ran goes through here too.
func (r *Runtime) endHolder(pd *pod) {
	if !sharesPID(pd) || r.stopping(pd) || !finished(pd) {
		return
	}
	// Close waits for the delete rather than cut it half-way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 10*time.Second)
	defer cancel()
	if err := r.removeHolder(ctx, pd); err != nil {
		// StopPod and RemovePod remove it again.
		r.log.Warn("remove the finished pod's process namespace holder", "pod", pd.key, "err", err)
		return
	}
	r.log.Info("pod finished; process namespace holder removed", "pod", pd.key)
}

// finished reports whether the pod's phase is final (Succeeded or
// Failed) and none of its containers runs.
func finished(pd *pod) bool {
	st := pd.status()
	if st.Phase != nodes.PhaseSucceeded && st.Phase != nodes.PhaseFailed {
		return false
	}
	return !anyRunning(st.InitContainers, st.Containers)
}
