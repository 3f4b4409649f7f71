package containerd

import (
	"context"
	"slices"
	"sync"
	"time"

	"berth.dev/berth/nodes"
)

// Native sidecars: init containers with restartPolicy Always, run as the
// kubelet runs them (pkg/kubelet/kuberuntime, computeInitContainerActions
// and the termination ordering of KEP-753).

// runInits runs the init containers in order. A regular one runs to
// completion before the next starts; a sidecar is started in its own
// goroutine, which keeps it running and restarts it whenever it exits,
// and the next init container starts once the sidecar has started (its
// postStart hook done, its startup probe passed). It reports whether the
// containers may start; sidecars is what waits for the sidecars'
// goroutines.
func (r *Runtime) runInits(ctx context.Context, pd *pod, sidecars *sync.WaitGroup) bool {
	pd.mu.Lock()
	var apps []nodes.ContainerStatus
	for _, c := range pd.apps {
		apps = append(apps, c.state)
	}
	pd.mu.Unlock()
	// A pod re-adopted after its containers started is initialized: its
	// containers are supervised again at once, whatever its sidecars do.
	initialized := anyStarted(apps)
	for _, c := range pd.inits {
		if c.sidecar {
			sidecars.Go(func() { r.runContainer(ctx, pd, c) })
			if initialized {
				continue
			}
			select {
			case <-c.up:
				continue
			case <-pd.stop:
			case <-ctx.Done():
			}
			return false
		}
		pd.mu.Lock()
		done := c.completed
		pd.mu.Unlock()
		if done {
			continue
		}
		if !r.runContainer(ctx, pd, c) {
			return false
		}
	}
	pd.mu.Lock()
	pd.initDone = true
	pd.mu.Unlock()
	return true
}

// halted reports whether c must not start again: the pod is being
// stopped, the Runtime closes, or c is a sidecar whose pod's containers
// have finished.
func (r *Runtime) halted(pd *pod, c *ctr) bool {
	if r.stopping(pd) {
		return true
	}
	if !c.sidecar {
		return false
	}
	select {
	case <-pd.sidecarsEnd:
		return true
	default:
		return false
	}
}

// sleepFor is sleep for c: a sidecar also wakes when its pod's
// containers have finished.
func (r *Runtime) sleepFor(pd *pod, c *ctr, d time.Duration) bool {
	if !c.sidecar {
		return r.sleep(pd, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
	case <-pd.stop:
	case <-pd.sidecarsEnd:
	}
	return false
}

// endSidecars stops the sidecars once the pod's containers have
// finished for good (a Job's pod, or a failed init container under
// restartPolicy Never), as the kubelet does: in reverse order, each
// after the one started after it has exited, within the pod's grace
// period. They are not restarted.
func (r *Runtime) endSidecars(ctx context.Context, pd *pod) {
	pd.endOnce.Do(func() { close(pd.sidecarsEnd) })
	pd.mu.Lock()
	deadline := time.Now().Add(time.Duration(pd.spec.Spec.TerminationGracePeriodSeconds) * time.Second)
	pd.mu.Unlock()
	for _, c := range slices.Backward(pd.inits) {
		if !c.sidecar {
			continue
		}
		if err := r.stopContainer(r.nsCtx(ctx), pd, c, deadline, true); err != nil {
			r.log.Warn("stop sidecar", "pod", pd.key, "container", c.spec.Name, "err", err)
		}
	}
}

// stopOrder is the order in which StopPod stops the pod's containers:
// the containers (and a regular init container that runs) together,
// then each sidecar, last started first, once the stage before it has
// exited.
func stopOrder(pd *pod) [][]*ctr {
	var first []*ctr
	var sidecars [][]*ctr
	for _, c := range pd.inits {
		if c.sidecar {
			sidecars = append(sidecars, []*ctr{c})
		} else {
			first = append(first, c)
		}
	}
	slices.Reverse(sidecars)
	return append([][]*ctr{append(first, pd.apps...)}, sidecars...)
}

// appsFinished reports whether every container of the pod has exited
// and will not start again: a finished Job's pod, found so when the
// daemon re-adopts it. Its sidecars are not started again.
func appsFinished(pd *pod) bool {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	for _, c := range pd.apps {
		if c.state.State != nodes.StateTerminated || shouldRestart(pd.spec.Spec.RestartPolicy, c.state.ExitCode) {
			return false
		}
	}
	return len(pd.apps) > 0
}

// initPhaseStatus is a sidecar's status as the pod's phase reads it
// while the pod initializes: a sidecar that runs and has started lets
// the pod go on (ok false: leave it out), one that exited waits for its
// restart.
func initPhaseStatus(c *ctr) (nodes.ContainerStatus, bool) {
	cs := c.state
	switch {
	case cs.State == nodes.StateRunning && c.started:
		return cs, false
	case cs.State == nodes.StateTerminated:
		cs.State, cs.Reason = nodes.StateWaiting, "CrashLoopBackOff"
	}
	return cs, true
}
