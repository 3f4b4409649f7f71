package expand

import (
	"slices"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/plan"
)

// securityContext is the kubelet's effective security context of a
// container (DetermineEffectiveSecurityContext): its own fields, the
// pod's runAsUser, runAsGroup and runAsNonRoot where it has none, the
// pod's seccomp profile unless it names one, and the pod's fsGroup and
// supplementalGroups as groups of its processes. Nil when there is
// nothing to apply, so a pod without security contexts plans as before.
func securityContext(pod *api.PodSecurityContext, c *api.SecurityContext) *plan.SecurityContext {
	out := plan.SecurityContext{}
	if pod != nil {
		out.RunAsUser, out.RunAsGroup = pod.RunAsUser, pod.RunAsGroup
		out.RunAsNonRoot = pod.RunAsNonRoot != nil && *pod.RunAsNonRoot
		out.Seccomp = seccomp(pod.SeccompProfile)
		if pod.FSGroup != nil {
			out.SupplementalGroups = append(out.SupplementalGroups, *pod.FSGroup)
		}
		out.SupplementalGroups = append(out.SupplementalGroups, pod.SupplementalGroups...)
	}
	if c != nil {
		if c.RunAsUser != nil {
			out.RunAsUser = c.RunAsUser
		}
		if c.RunAsGroup != nil {
			out.RunAsGroup = c.RunAsGroup
		}
		if c.RunAsNonRoot != nil {
			out.RunAsNonRoot = *c.RunAsNonRoot
		}
		if c.SeccompProfile != nil {
			out.Seccomp = seccomp(c.SeccompProfile)
		}
		out.ReadOnlyRootFilesystem = c.ReadOnlyRootFilesystem
		out.Privileged = c.Privileged
		out.AllowPrivilegeEscalation = c.AllowPrivilegeEscalation
		if c.Capabilities != nil {
			out.Capabilities = &plan.Capabilities{Add: slices.Clone(c.Capabilities.Add), Drop: slices.Clone(c.Capabilities.Drop)}
		}
	}
	if out.RunAsUser == nil && out.RunAsGroup == nil && !out.RunAsNonRoot && out.SupplementalGroups == nil &&
		!out.ReadOnlyRootFilesystem && !out.Privileged && out.AllowPrivilegeEscalation == nil && out.Capabilities == nil && out.Seccomp == nil {
		return nil
	}
	return &out
}

func seccomp(p *api.SeccompProfile) *plan.SeccompProfile {
	if p == nil {
		return nil
	}
	out := &plan.SeccompProfile{Type: p.Type}
	if p.LocalhostProfile != nil {
		out.LocalhostProfile = *p.LocalhostProfile
	}
	return out
}

// podSecurity is what the pod's securityContext sets for the pod as a
// whole: its volumes' group and its sysctls (nil when nothing).
func podSecurity(sc *api.PodSecurityContext) *plan.PodSecurity {
	if sc == nil || sc.FSGroup == nil && len(sc.Sysctls) == 0 {
		return nil
	}
	out := &plan.PodSecurity{FSGroup: sc.FSGroup}
	if sc.FSGroup != nil && sc.FSGroupChangePolicy == plan.FSGroupOnRootMismatch {
		out.FSGroupChangePolicy = sc.FSGroupChangePolicy
	}
	for _, s := range sc.Sysctls {
		out.Sysctls = append(out.Sysctls, plan.Sysctl{Name: api.NormalizeSysctl(s.Name), Value: s.Value})
	}
	return out
}

// terminationMessage is the container's termination message path and
// policy in the plan: "" for Kubernetes' defaults.
func terminationMessage(c *api.Container) (path, policy string) {
	if c.TerminationMessagePath != plan.DefaultTerminationMessagePath {
		path = c.TerminationMessagePath
	}
	if c.TerminationMessagePolicy != plan.TerminationMessageFile {
		policy = c.TerminationMessagePolicy
	}
	return path, policy
}
