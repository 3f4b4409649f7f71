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
	if p.Exec != nil {
		out.Exec = &plan.ExecAction{Command: slices.Clone(p.Exec.Command)}
	}
	if h := p.HTTPGet; h != nil {
		out.HTTPGet = &plan.HTTPGetAction{Path: h.Path, Port: plan.IntOrString(h.Port), Host: h.Host, Scheme: h.Scheme}
		for _, hd := range h.HTTPHeaders {
			out.HTTPGet.HTTPHeaders = append(out.HTTPGet.HTTPHeaders, plan.HTTPHeader(hd))
		}
	}
	if p.TCPSocket != nil {
		out.TCPSocket = &plan.TCPSocketAction{Port: plan.IntOrString(p.TCPSocket.Port)}
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
