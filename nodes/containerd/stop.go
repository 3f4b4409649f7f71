package containerd

import (
	"context"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"berth.dev/berth/nodes"
)

// stopContainer runs preStop, sends SIGTERM and, after the grace period,
// SIGKILL. The supervising goroutine records the exit.
func (r *Runtime) stopContainer(ctx context.Context, pd *pod, c *ctr, deadline time.Time, preStop bool) error {
	cont, err := r.client.LoadContainer(ctx, c.id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	t, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := t.Status(ctx)
	if err != nil || st.Status != containerd.Running {
		return nil
	}
	r.killTask(ctx, pd, c, t, deadline, preStop)
	return nil
}

// killTask is the graceful stop: preStop exec within the grace period
// (unless an earlier try ran it), SIGTERM, SIGKILL when the grace period
// is over (at deadline).
func (r *Runtime) killTask(ctx context.Context, pd *pod, c *ctr, t containerd.Task, deadline time.Time, preStop bool) {
	ch, err := t.Wait(ctx)
	if err != nil {
		return
	}
	if preStop && len(c.spec.PreStop) > 0 && time.Now().Before(deadline) {
		pctx, cancel := context.WithDeadline(ctx, deadline)
		if _, err := r.exec(pctx, c.id, t, c.spec.PreStop); err != nil {
			r.log.Warn("preStop hook failed", "pod", pd.key, "container", c.spec.Name, "err", err)
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
