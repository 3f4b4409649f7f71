package containerd

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/nodes"
)

// Observe reports the pods of this node. The state is the supervisors'
// view, which New rebuilt from containerd's labels and tasks.
func (r *Runtime) Observe(ctx context.Context) (nodes.NodeState, error) {
	if err := ctx.Err(); err != nil {
		return nodes.NodeState{}, err
	}
	r.mu.Lock()
	pods := slices.Collect(maps.Values(r.pods))
	r.mu.Unlock()
	st := nodes.NodeState{Pods: make([]nodes.PodStatus, 0, len(pods))}
	for _, pd := range pods {
		st.Pods = append(st.Pods, pd.status())
	}
	slices.SortFunc(st.Pods, func(a, b nodes.PodStatus) int { return strings.Compare(a.Key(), b.Key()) })
	return st, nil
}

func (pd *pod) status() nodes.PodStatus {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	p := pd.spec
	s := nodes.PodStatus{
		Namespace:  p.Namespace,
		Name:       p.Name,
		Labels:     maps.Clone(p.Labels),
		Owner:      p.Owner,
		Revision:   p.Revision,
		Hash:       p.Hash,
		ConfigHash: p.ConfigHash,
		IP:         pd.ip,
		StartedAt:  pd.startedAt,
		ReadySince: pd.readySince,
		Reason:     pd.reason,
		Message:    pd.message,

		GracePeriodSeconds: p.Spec.TerminationGracePeriodSeconds,
	}
	var inits, initPhase []nodes.ContainerStatus
	for _, c := range pd.apps {
		s.Containers = append(s.Containers, c.state)
	}
	initDone := pd.initDone || anyStarted(s.Containers)
	for _, c := range pd.inits {
		cs := c.state
		if c.completed {
			cs.State, cs.Reason = nodes.StateTerminated, "Completed"
		}
		inits = append(inits, cs)
		if !c.sidecar {
			initPhase = append(initPhase, cs)
		} else if ps, pending := initPhaseStatus(c); pending && !initDone {
			// A sidecar holds the pod's phase only until it has started
			// (kubelet getPhase); after that only the containers do.
			initPhase = append(initPhase, ps)
		}
	}
	s.InitContainers = inits
	s.Phase, s.Reason, s.Message = phase(p.Spec.RestartPolicy, initPhase, s.Containers, s.Reason, s.Message, pd.stopped)
	s.Ready = s.Phase == nodes.PhaseRunning && !pd.readySince.IsZero()
	switch {
	case pd.stopped && anyRunning(inits, s.Containers):
		// In its grace period (preStop, SIGTERM): what kubectl shows as
		// Terminating; it serves no new requests.
		s.Ready, s.Reason, s.Message = false, "Terminating", ""
	case pd.forced:
		s.Phase, s.Reason, s.Message = nodes.PhaseFailed, "Stopped", "stopped by berth before it finished"
		s.Ready = false
	}
	if !s.Ready {
		s.ReadySince = time.Time{}
	}
	return s
}

// phase derives the pod phase and the reason shown for it from the
// container states, as the kubelet does.
//
// Containers that have all exited are restarting under restartPolicy
// Always (and OnFailure after a failure) until the pod is stopping: the
// pod is Running meanwhile, as the kubelet's getPhase says when the pod
// is not terminal. (Read as Failed, the moment between an exit and its
// back-off made the reconciler re-create the pod, and a Job count a
// failed pod.)
func phase(policy string, inits, apps []nodes.ContainerStatus, reason, message string, stopping bool) (string, string, string) {
	for _, cs := range [][]nodes.ContainerStatus{inits, apps} {
		for _, c := range cs {
			if c.Reason == ReasonContainerMissing || c.Reason == ReasonSandboxChanged {
				return nodes.PhaseFailed, c.Reason, c.Message
			}
		}
	}
	for _, c := range inits {
		if c.State == nodes.StateTerminated && c.Reason == "Completed" {
			continue
		}
		if c.State == nodes.StateTerminated && policy == RestartNever {
			return nodes.PhaseFailed, "Init:" + c.Reason, "init container " + c.Name + " failed"
		}
		if reason == "" && c.State == nodes.StateWaiting && c.Reason != "PodInitializing" {
			reason, message = "Init:"+c.Reason, c.Message
		}
		return nodes.PhasePending, reason, message
	}
	running, waiting, failed, started := 0, 0, 0, 0
	for _, c := range apps {
		switch c.State {
		case nodes.StateRunning:
			running++
		case nodes.StateWaiting:
			waiting++
			if reason == "" && c.Reason != "ContainerCreating" {
				reason, message = c.Reason, c.Message
			}
		case nodes.StateTerminated:
			if c.ExitCode != 0 {
				failed++
				if reason == "" || reason == "Completed" {
					reason, message = c.Reason, c.Message
				}
			}
		}
		if !c.StartedAt.IsZero() || c.RestartCount > 0 {
			started++
		}
	}
	switch {
	case len(apps) == 0:
		return nodes.PhasePending, reason, message
	case running > 0:
		return nodes.PhaseRunning, reason, message
	case waiting > 0 && started > 0 && waitingRestart(apps):
		return nodes.PhaseRunning, reason, message
	case waiting > 0:
		return nodes.PhasePending, reason, message
	case !stopping && (policy == RestartAlways || policy == "" || failed > 0 && policy == RestartOnFailure):
		return nodes.PhaseRunning, reason, message
	case failed > 0:
		return nodes.PhaseFailed, reason, message
	default:
		return nodes.PhaseSucceeded, reason, message
	}
}

func anyRunning(lists ...[]nodes.ContainerStatus) bool {
	for _, cs := range lists {
		for _, c := range cs {
			if c.State == nodes.StateRunning {
				return true
			}
		}
	}
	return false
}

// waitingRestart reports whether a waiting container is in back-off
// between runs (the pod is Running), not waiting for its first start.
func waitingRestart(apps []nodes.ContainerStatus) bool {
	for _, c := range apps {
		if c.State == nodes.StateWaiting && c.Reason == "CrashLoopBackOff" {
			return true
		}
	}
	return false
}

// anyStarted reports whether a container has started once: the pod's
// init containers are done.
func anyStarted(cs []nodes.ContainerStatus) bool {
	for _, c := range cs {
		if !c.StartedAt.IsZero() || c.RestartCount > 0 {
			return true
		}
	}
	return false
}
