package containerd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"

	"berth.dev/berth/nodes"
)

// stopContainer runs preStop, sends SIGTERM and, after the grace period,
// SIGKILL. The supervising goroutine records the exit.
func (r *Runtime) stopContainer(ctx context.Context, pd *pod, c *ctr, deadline time.Time, preStop bool) error {
	t, err := r.runningTask(ctx, c)
	if t == nil || err != nil {
		return err
	}
	r.killTask(ctx, pd, c, t, deadline, preStop)
	return nil
}

// runningTask returns c's task if it runs. It looks under the task lock,
// which the supervisor holds from its last look at pd.stop until the task
// it starts runs: the caller closed pd.stop before, so a task started
// after this look cannot be.
func (r *Runtime) runningTask(ctx context.Context, c *ctr) (containerd.Task, error) {
	unlock := r.tasks.lock(c.id)
	defer unlock()
	cont, err := r.client.LoadContainer(ctx, c.id)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := t.Status(ctx)
	if err != nil || st.Status != containerd.Running {
		return nil, nil
	}
	return t, nil
}

// errStopping is a start not made because the pod is being stopped.
var errStopping = errors.New("the pod is being stopped")

// startUnlessStopping starts c's task unless the pod is being stopped,
// the check and the start under the container's task lock: a StopPod
// that looked for a task to stop between the two found none and waited
// for an exit that never came, while the task the supervisor then
// started ran on, ready, for good. The stop looks under the same lock.
func (r *Runtime) startUnlessStopping(ctx context.Context, pd *pod, c *ctr) (containerd.Task, <-chan containerd.ExitStatus, error) {
	unlock := r.tasks.lock(c.id)
	defer unlock()
	if r.halted(pd, c) {
		return nil, nil, errStopping
	}
	return r.startTask(ctx, pd, c)
}

// deleteTask deletes container id's task t (nil: none could be loaded),
// and then containerd's record of it if one is left. A delete whose
// context was cancelled half-way (while containerd waited for the shim to
// shut down) leaves that record for a retry, with a shim that already
// answers "not found": the client's Task.Delete asks the status first and
// gives up on that answer, Container.Task fails, and every NewTask for the
// container failed with "already exists" for ever. The tasks service's
// Delete is the retry containerd keeps the record for.
func (r *Runtime) deleteTask(ctx context.Context, id string, t containerd.Task, opts ...containerd.ProcessDeleteOpts) error {
	if t != nil {
		_, err := t.Delete(ctx, opts...)
		if !errdefs.IsNotFound(err) {
			return err
		}
	}
	_, err := r.client.TaskService().Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: id})
	if err = errgrpc.ToNative(err); errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// killTask is the graceful stop: preStop exec within the grace period
// (unless an earlier try ran it), SIGTERM, SIGKILL when the grace period
// is over (at deadline).
func (r *Runtime) killTask(ctx context.Context, pd *pod, c *ctr, t containerd.Task, deadline time.Time, preStop bool) {
	ch, err := t.Wait(ctx)
	if err != nil {
		return
	}
	if preStop && time.Now().Before(deadline) {
		pctx, cancel := context.WithDeadline(ctx, deadline)
		if err := r.preStop(pctx, pd, c, t); err != nil {
			r.log.Warn("FailedPreStopHook: preStop hook failed", "pod", pd.key, "container", c.spec.Name, "err", err)
		}
		cancel()
	}
	if err := t.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("SIGTERM", "container", c.id, "err", err)
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-ch:
		return
	case <-timer.C:
	case <-ctx.Done():
		return
	}
	if err := t.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("SIGKILL", "container", c.id, "err", err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
	}
}

// preStop runs c's preStop hook, if it has one, within ctx (the grace
// period), as the kubelet's executePreStopHook: an exec in the
// container, a GET to the pod (any answer passes), or a sleep.
func (r *Runtime) preStop(ctx context.Context, pd *pod, c *ctr, t containerd.Task) error {
	if len(c.spec.PreStop) > 0 {
		code, err := r.exec(ctx, c.id, t, c.spec.PreStop)
		if err == nil && code != 0 {
			err = fmt.Errorf("command '%s' exited with %d", strings.Join(c.spec.PreStop, " "), code)
		}
		return err
	}
	h := c.spec.PreStopHook
	switch {
	case h == nil:
		return nil
	case h.HTTPGet != nil:
		pd.mu.Lock()
		ip := pd.hookIP()
		pd.mu.Unlock()
		return hookHTTP(ctx, c.spec, h.HTTPGet.Host, ip, h)
	case h.Sleep != nil:
		return hookSleep(ctx, *h.Sleep)
	}
	return nil
}

// awaitExit records the exit of a container that runs, without starting
// it again.
func (r *Runtime) awaitExit(ctx context.Context, pd *pod, c *ctr) {
	pd.mu.Lock()
	running := c.state.State == nodes.StateRunning
	pd.mu.Unlock()
	if !running {
		return
	}
	cont, err := r.client.LoadContainer(ctx, c.id)
	if err != nil {
		return
	}
	task, err := cont.Task(ctx, nil)
	if err != nil {
		return
	}
	exitCh, err := task.Wait(ctx)
	if err != nil {
		return
	}
	var st containerd.ExitStatus
	select {
	case st = <-exitCh:
	case <-ctx.Done():
		return
	}
	code, at := int(st.ExitCode()), st.ExitTime()
	if at.IsZero() || at.Year() < 2000 {
		at = r.now()
	}
	reason := "Error"
	if code == 0 {
		reason = "Completed"
	}
	r.recordExit(ctx, pd, c, task, code, reason, at)
}

// deleteOrphanTask kills and deletes the task of container id, whose
// record is gone. containerd checks for a task only in the client before
// it deletes a container, so a container deleted behind berth's back
// (ctr c rm) while its task was being started leaves that task running,
// with its shim and rootfs mount. containerd 1.6 finds a task only
// through its container's record, so a placeholder record with the same
// id (and the default runtime, as berth's containers have) is made for
// the delete and removed after it.
func (r *Runtime) deleteOrphanTask(ctx context.Context, id string) error {
	list, err := r.client.TaskService().List(ctx, &tasks.ListTasksRequest{Filter: "id==" + id})
	if err != nil {
		return fmt.Errorf("list tasks: %w", errgrpc.ToNative(err))
	}
	if len(list.Tasks) == 0 {
		return nil
	}
	r.log.Warn("task of a container deleted outside berth; deleting it", "container", id)
	unlock := r.tasks.lock(id)
	defer unlock()
	c, err := r.client.NewContainer(ctx, id, containerd.WithNewSpec())
	if err != nil {
		return fmt.Errorf("placeholder record for the orphan task %s: %w", id, err)
	}
	var errs []error
	if t, err := c.Task(ctx, nil); err == nil {
		if exited, err := t.Wait(ctx); err == nil {
			if err := t.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err == nil || errdefs.IsNotFound(err) {
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
				}
			}
		}
		errs = append(errs, r.deleteTask(ctx, id, t, containerd.WithProcessKill))
	}
	if err := c.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete the orphan task %s: %w", id, err)
	}
	return nil
}
