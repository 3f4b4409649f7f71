package expand

import (
	"slices"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/plan"
)

// The input model's container fields in the plan's own types (the plan
// owns its types: compiler/plan/types.go). Each copies, so that the plan
// shares no memory with the objects it was compiled from.

func planProbe(p *api.Probe) *plan.Probe {
	if p == nil {
		return nil
	}
	out := &plan.Probe{InitialDelaySeconds: p.InitialDelaySeconds, PeriodSeconds: p.PeriodSeconds, TimeoutSeconds: p.TimeoutSeconds,
		FailureThreshold: p.FailureThreshold, SuccessThreshold: p.SuccessThreshold}
	out.Exec, out.HTTPGet = planExec(p.Exec), planHTTPGet(p.HTTPGet)
	if p.TCPSocket != nil {
		out.TCPSocket = &plan.TCPSocketAction{Port: plan.IntOrString(p.TCPSocket.Port)}
	}
	if g := p.GRPC; g != nil {
		out.GRPC = &plan.GRPCAction{Port: g.Port}
		if g.Service != nil {
			s := *g.Service
			out.GRPC.Service = &s
		}
	}
	if t := p.TerminationGracePeriodSeconds; t != nil {
		v := *t
		out.TerminationGracePeriodSeconds = &v
	}
	return out
}

// planHook is a lifecycle hook in the plan's types.
func planHook(h *api.LifecycleHandler) *plan.LifecycleHandler {
	if h == nil {
		return nil
	}
	out := &plan.LifecycleHandler{Exec: planExec(h.Exec), HTTPGet: planHTTPGet(h.HTTPGet)}
	if h.Sleep != nil {
		s := h.Sleep.Seconds
		out.Sleep = &s
	}
	return out
}

func planExec(e *api.ExecAction) *plan.ExecAction {
	if e == nil {
		return nil
	}
	return &plan.ExecAction{Command: slices.Clone(e.Command)}
}

func planHTTPGet(h *api.HTTPGetAction) *plan.HTTPGetAction {
	if h == nil {
		return nil
	}
	out := &plan.HTTPGetAction{Path: h.Path, Port: plan.IntOrString(h.Port), Host: h.Host, Scheme: h.Scheme}
	for _, hd := range h.HTTPHeaders {
		out.HTTPHeaders = append(out.HTTPHeaders, plan.HTTPHeader(hd))
	}
	return out
}

func planMounts(ms []api.VolumeMount) []plan.VolumeMount {
	var out []plan.VolumeMount
	for _, m := range ms {
		out = append(out, plan.VolumeMount(m))
	}
	return out
}
