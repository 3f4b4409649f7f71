package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"berth.dev/berth/nodes"
)

// startSupervision runs the pod in a goroutine owned by the Runtime.
func (r *Runtime) startSupervision(pd *pod) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(pd.done)
		r.supervise(pd)
		r.endHolder(pd) // a finished pod's PID namespace holder (pidns.go)
	}()
}

// sleep waits d, or returns false when the Runtime closes or the pod stops.
func (r *Runtime) sleep(pd *pod, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
	case <-pd.stop:
	}
	return false
}

func (r *Runtime) stopping(pd *pod) bool {
	select {
	case <-r.ctx.Done():
		return true
	case <-pd.stop:
		return true
	default:
		return false
	}
}

// supervise pulls and creates the containers, runs the init containers in
// order, then runs and restarts the app containers.
func (r *Runtime) supervise(pd *pod) {
	ctx := r.ctx
	if r.stopping(pd) {
		// Re-adopted in its grace period: no restarts, but the exits of
		// the containers still running are recorded.
		var wg sync.WaitGroup
		for _, c := range pd.all() {
			wg.Go(func() { r.awaitExit(ctx, pd, c) })
		}
		wg.Wait()
		return
	}
	// A pull is cancelled when the pod stops; a running container's exit
	// is still awaited with the Runtime's context, so StopPod sees it.
	pullCtx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-pd.stop:
			cancel()
		case <-pullCtx.Done():
		}
	}()
	ok := r.createContainers(pullCtx, pd)
	cancel()
	if !ok {
		return
	}
	var sidecars sync.WaitGroup
	defer sidecars.Wait()
	if appsFinished(pd) {
		// Re-adopted after its containers finished (a Job's): its
		// sidecars were stopped, or are to be, never started again.
		r.endSidecars(ctx, pd)
		return
	}
	if r.runInits(ctx, pd, &sidecars) {
		var wg sync.WaitGroup
		for _, c := range pd.apps {
			wg.Go(func() { r.runContainer(ctx, pd, c) })
		}
		wg.Wait()
	}
	if !r.stopping(pd) {
		// The containers finished, or an init container failed for good:
		// the sidecars end too (StopPod stops them itself, in order).
		r.endSidecars(ctx, pd)
	}
}

// runContainer runs c until it must not restart (policy, pod stopped,
// Runtime closed). For an init container it returns true when the
// container completed.
func (r *Runtime) runContainer(ctx context.Context, pd *pod, c *ctr) bool {
	bo := r.newBackoff()
	pd.mu.Lock()
	policy := pd.spec.Spec.RestartPolicy
	pd.mu.Unlock()
	switch {
	case c.sidecar:
		policy = RestartAlways // whatever the pod's policy
	case c.init > 0 && policy == RestartAlways:
		policy = RestartOnFailure // init containers always run to completion
	}
	pd.mu.Lock()
	exited, code := c.state.State == nodes.StateTerminated, c.state.ExitCode
	pd.mu.Unlock()
	if exited {
		// It exited while no daemon watched (re-adopted): apply the
		// policy to that exit as if it had just happened.
		if r.halted(pd, c) || !shouldRestart(policy, code) {
			return false
		}
		r.countRestart(ctx, pd, c)
	}
	for {
		task, exitCh, err := r.startUnlessStopping(ctx, pd, c)
		if errors.Is(err, errStopping) {
			return false
		}
		if errors.Is(err, errGone) && !r.halted(pd, c) {
			if err = r.recreate(ctx, pd, c); errors.Is(err, errLost) {
				return false
			}
			if err == nil {
				task, exitCh, err = r.startUnlessStopping(ctx, pd, c)
				if errors.Is(err, errStopping) {
					return false
				}
			}
		}
		if errors.Is(err, errHolderGone) && !r.halted(pd, c) {
			r.holderLost(pd, c)
			return false
		}
		if err != nil {
			if r.halted(pd, c) {
				return false
			}
			r.log.Warn("container start failed", "pod", pd.key, "container", c.spec.Name, "err", err)
			reason := "ContainerCannotRun"
			var ce *configError
			if errors.As(err, &ce) {
				// It never ran: it waits and is tried again, whatever
				// the restart policy, as on the kubelet.
				reason = "CreateContainerConfigError"
			}
			pd.mu.Lock()
			c.state.State, c.state.Reason, c.state.Message = nodes.StateWaiting, reason, err.Error()
			pd.mu.Unlock()
			if policy == RestartNever && ce == nil {
				r.terminated(ctx, pd, c, 128, "ContainerCannotRun", r.now())
				return false
			}
			if !r.sleepFor(pd, c, bo.next(0)) {
				return false
			}
			continue
		}
		var st containerd.ExitStatus
		hookErr := r.postStart(ctx, pd, c, task)
		pctx, pcancel := context.WithCancel(ctx)
		if hookErr != nil {
			// FailedPostStartHook: the kubelet kills the container, and
			// the restart policy decides what comes next.
			r.log.Warn("FailedPostStartHook: postStart hook failed; killing the container", "pod", pd.key, "container", c.spec.Name, "err", hookErr)
			r.killTask(ctx, pd, c, task, time.Now().Add(r.podGrace(pd)), true)
			st = <-exitCh
		} else {
			unhealthy := make(chan string, 1)
			r.startProbes(pctx, pd, c, task, unhealthy)
			select {
			case st = <-exitCh:
			case msg := <-unhealthy:
				r.log.Info("liveness probe failed; restarting container", "pod", pd.key, "container", c.spec.Name, "probe", msg)
				r.killTask(ctx, pd, c, task, time.Now().Add(probeGrace(r.podGrace(pd), c.spec, msg)), true)
				st = <-exitCh
			case <-ctx.Done():
				pcancel()
				return false // the Runtime closes; the container keeps running
			}
		}
		pcancel()
		code, at := int(st.ExitCode()), st.ExitTime()
		if st.Error() != nil && ctx.Err() != nil {
			return false
		}
		if at.IsZero() || at.Year() < 2000 {
			at = r.now()
		}
		reason := "Error"
		switch {
		case code == 0:
			reason = "Completed"
		case r.oomKilled(ctx, c.id, code):
			reason = "OOMKilled"
		}
		pd.mu.Lock()
		ran := at.Sub(c.state.StartedAt)
		pd.mu.Unlock()
		r.recordExit(ctx, pd, c, task, code, reason, at)
		if c.init > 0 && !c.sidecar && code == 0 {
			pd.mu.Lock()
			c.completed = true
			pd.mu.Unlock()
			return true
		}
		if r.halted(pd, c) || !shouldRestart(policy, code) {
			return false
		}
		delay := bo.next(ran)
		pd.mu.Lock()
		c.state.State = nodes.StateWaiting
		c.state.Reason = "CrashLoopBackOff"
		c.state.Message = fmt.Sprintf("back-off %s restarting failed container %s; last exit: %s (%d)", delay, c.spec.Name, reason, code)
		if hookErr != nil {
			c.state.Reason, c.state.Message = ReasonPostStartHookError, hookErr.Error()
		}
		pd.mu.Unlock()
		if !r.sleepFor(pd, c, delay) {
			return false
		}
		// The previous log is in place before the count says the run
		// restarted, so whoever sees the count can read that log.
		r.rotatePrevious(pd.key, c.spec.Name)
		r.countRestart(ctx, pd, c)
	}
}

// recordExit records an exit, then deletes the exited task. In that order:
// a daemon stopped or killed in between finds the exit in the labels, or
// the exited task and its status; deleting first lost it, and a finished
// Job's container started again on re-adoption.
// Close waits for it rather than cut it: a delete cancelled half-way can
// leave the task half there.
func (r *Runtime) recordExit(ctx context.Context, pd *pod, c *ctr, task containerd.Task, code int, reason string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if !r.terminated(ctx, pd, c, code, reason, at) {
		return
	}
	unlock := r.tasks.lock(c.id)
	if err := r.deleteTask(ctx, c.id, task); err != nil {
		r.log.Warn("delete task", "container", c.id, "err", err)
	}
	unlock()
}

// terminated records an exit in memory and in the container's labels,
// with the run's termination message; it reports whether the labels
// have it.
func (r *Runtime) terminated(ctx context.Context, pd *pod, c *ctr, code int, reason string, at time.Time) bool {
	msg := r.terminationMessage(pd.key, c.spec, code)
	pd.mu.Lock()
	c.state.State, c.state.ExitCode, c.state.Reason, c.state.Message = nodes.StateTerminated, code, reason, msg
	c.state.FinishedAt = at
	c.state.Ready = false
	started := c.state.StartedAt
	pd.mu.Unlock()
	r.updateReady(pd)
	err := r.setLabels(ctx, c.id, map[string]string{
		labelExitCode:   strconv.Itoa(code),
		labelReason:     reason,
		labelFinishedAt: at.UTC().Format(time.RFC3339Nano),
		labelStartedAt:  started.UTC().Format(time.RFC3339Nano),
	})
	if err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("record exit", "container", c.id, "err", err)
		return false
	}
	return true
}

// errGone is a container that containerd no longer has: someone deleted
// it behind berth's back (ctr c rm).
var errGone = errors.New("the container was deleted outside berth")

// errLost is a deleted container that cannot be made again here.
var errLost = errors.New("the container was deleted outside berth and cannot be made again from the pod's recorded spec")

// ReasonContainerMissing is the reason of a container deleted outside
// berth that the runtime cannot make again; the pod is reported Failed
// so that the reconciler replaces it.
const ReasonContainerMissing = "ContainerMissing"

// recreate makes a container that was deleted outside berth again from
// the pod's spec, as the kubelet recreates a container it finds gone, so
// that drift is repaired. A re-adopted pod's spec has its secret values
// redacted (the state file never holds them), so its container cannot be
// made again here: it is reported missing, the pod Failed, and the
// reconciler replaces the pod with the plan's full spec.
func (r *Runtime) recreate(ctx context.Context, pd *pod, c *ctr) error {
	pd.mu.Lock()
	adopted := pd.adopted
	if adopted {
		c.state.State, c.state.Reason, c.state.Message = nodes.StateTerminated, ReasonContainerMissing, errLost.Error()
		c.state.Ready = false
	} else {
		c.created = false
	}
	pd.mu.Unlock()
	if adopted {
		r.log.Warn("container deleted outside berth; the pod is re-created", "pod", pd.key, "container", c.spec.Name)
		r.updateReady(pd)
		return errLost
	}
	r.log.Warn("container deleted outside berth; creating it again", "pod", pd.key, "container", c.spec.Name)
	return r.createMissing(ctx, pd, c)
}

// startTask starts c's task, or attaches to the one already running (a
// re-adopted pod), and returns its exit channel.
func (r *Runtime) startTask(ctx context.Context, pd *pod, c *ctr) (containerd.Task, <-chan containerd.ExitStatus, error) {
	cont, err := r.client.LoadContainer(ctx, c.id)
	if errdefs.IsNotFound(err) {
		return nil, nil, fmt.Errorf("container %s: %w", c.id, errGone)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load container %s: %w", c.id, err)
	}
	t, err := cont.Task(ctx, nil)
	if err != nil {
		t = nil // none, or the record of a delete cut half-way
	}
	if t != nil {
		st, serr := t.Status(ctx)
		if serr == nil && (st.Status == containerd.Running || st.Status == containerd.Paused) {
			ch, err := t.Wait(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("wait task %s: %w", c.id, err)
			}
			r.markRunning(pd, c, time.Time{})
			return t, ch, nil
		}
	}
	if err := r.deleteTask(ctx, c.id, t, containerd.WithProcessKill); err != nil {
		return nil, nil, fmt.Errorf("delete stale task %s: %w", c.id, err)
	}
	if err := r.checkHolder(ctx, pd); err != nil {
		return nil, nil, err
	}
	if r.opts.beforeStart != nil {
		r.opts.beforeStart(pd.key, c.spec.Name)
	}
	if err := r.bindSubPaths(pd, c); err != nil {
		return nil, nil, err
	}
	r.resetTerminationLog(pd.key, c.spec.Name)
	logPath, err := r.logPath(pd.key, c.spec.Name)
	if err != nil {
		return nil, nil, err
	}
	ioc, err := r.taskIO(pd.key, c.spec, logPath)
	if err != nil {
		return nil, nil, err
	}
	t, err = cont.NewTask(ctx, ioc)
	if err != nil {
		return nil, nil, fmt.Errorf("create task %s: %w", c.spec.Name, err)
	}
	ch, err := t.Wait(ctx)
	if err != nil {
		t.Delete(ctx, containerd.WithProcessKill)
		return nil, nil, fmt.Errorf("wait task %s: %w", c.spec.Name, err)
	}
	if err := t.Start(ctx); err != nil {
		t.Delete(ctx, containerd.WithProcessKill)
		return nil, nil, fmt.Errorf("start %s: %w", c.spec.Name, err)
	}
	if c.spec.PostStart != nil {
		// Running once its postStart hook is done (postStart).
		pd.mu.Lock()
		c.runningAt = r.now()
		pd.mu.Unlock()
		return t, ch, nil
	}
	r.markRunning(pd, c, r.now())
	return t, ch, nil
}

// markRunning records a started container; a zero at keeps the start
// time already known (a re-adopted container). The start time goes to
// the labels before the state shows running: whoever saw it running and
// then restarted the daemon finds the same start time again.
func (r *Runtime) markRunning(pd *pod, c *ctr, at time.Time) {
	pd.mu.Lock()
	known := !c.state.StartedAt.IsZero()
	pd.mu.Unlock()
	if at.IsZero() && !known {
		at = r.now()
	}
	if !at.IsZero() {
		_ = r.setLabels(r.ctx, c.id, map[string]string{labelStartedAt: at.UTC().Format(time.RFC3339Nano), labelReason: "", labelExitCode: ""})
	}
	pd.mu.Lock()
	c.state.State, c.state.Reason, c.state.Message = nodes.StateRunning, "", ""
	c.state.ExitCode = 0
	c.state.FinishedAt = time.Time{}
	if !at.IsZero() {
		c.state.StartedAt = at
		c.started = c.spec.StartupProbe == nil
	}
	pd.mu.Unlock()
	r.updateReady(pd)
}

// countRestart counts one more restart of c, also on the container's
// labels (a restarted daemon reads it back).
func (r *Runtime) countRestart(ctx context.Context, pd *pod, c *ctr) {
	pd.mu.Lock()
	c.state.RestartCount++
	n := c.state.RestartCount
	pd.mu.Unlock()
	if err := r.setLabels(ctx, c.id, map[string]string{labelRestarts: strconv.Itoa(n)}); err != nil {
		r.log.Warn("record restart", "container", c.id, "err", err)
	}
}

// oomKilled reports whether the container's last exit was the kernel's
// OOM killer: exit 137 and the cgroup's OOM-kill counter moved (read
// before the task is deleted, which removes the cgroup).
func (r *Runtime) oomKilled(ctx context.Context, id string, code int) bool {
	if code != 137 {
		return false
	}
	if r.sawOOM(id) {
		return true
	}
	cg := filepath.Join("/", r.opts.Namespace, id)
	if cont, err := r.client.LoadContainer(ctx, id); err == nil {
		if s, err := cont.Spec(ctx); err == nil && s.Linux != nil && s.Linux.CgroupsPath != "" {
			cg = s.Linux.CgroupsPath
		}
	}
	for _, f := range []string{
		filepath.Join("/sys/fs/cgroup/memory", cg, "memory.oom_control"), // cgroup v1
		filepath.Join("/sys/fs/cgroup", cg, "memory.events"),             // cgroup v2
	} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, " ")
			if k == "oom_kill" && v != "0" {
				return true
			}
		}
	}
	return false
}
