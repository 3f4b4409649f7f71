package containerd

import (
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/oci"

	"berth.dev/berth/compiler/plan"
)

// Seccomp profiles a container runs under, by Kubernetes' names.
const (
	SeccompRuntimeDefault = "RuntimeDefault"
	SeccompUnconfined     = "Unconfined"
)

// seccompProfile is the profile of c: RuntimeDefault unless c is
// privileged (Kubernetes' SeccompDefault, on by default since 1.27; a
// privileged container runs unconfined, as under containerd's CRI).
// securityContext.seccompProfile, once berth accepts it, is read here.
func seccompProfile(c plan.Container) string {
	if c.SecurityContext != nil && c.SecurityContext.Privileged {
		return SeccompUnconfined
	}
	return SeccompRuntimeDefault
}

// isolationOpts are the defaults every container gets on top of the OCI
// default spec, which already masks /proc/kcore, /proc/keys, /sys/firmware
// and friends and mounts /proc/sys, /proc/sysrq-trigger and others
// read-only (oci.WithPrivileged lifts both for a privileged container):
//   - containerd's default seccomp profile (RuntimeDefault), computed
//     from the capabilities the container ends up with, so it must come
//     after securityOpts;
//   - no_new_privs, kept from the default spec except where Kubernetes
//     forces privilege escalation on (privileged, or CAP_SYS_ADMIN added).
func isolationOpts(c plan.Container) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if seccompProfile(c) == SeccompRuntimeDefault {
		opts = append(opts, seccomp.WithDefaultProfile())
	} else {
		opts = append(opts, oci.WithSeccompUnconfined)
	}
	if escalates(c) {
		opts = append(opts, oci.WithNewPrivileges)
	} else {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	return opts
}

// escalates reports whether the API server would require
// allowPrivilegeEscalation for c: privileged, or CAP_SYS_ADMIN added.
func escalates(c plan.Container) bool {
	sc := c.SecurityContext
	if sc == nil {
		return false
	}
	return sc.Privileged || sc.Capabilities != nil && capsHave(capNames(sc.Capabilities.Add), "CAP_SYS_ADMIN")
}
