package containerd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"

	"berth.dev/berth/compiler/plan"
)

// userOpts set the container's user and groups as containerd's CRI does
// for the kubelet: runAsUser (its group from the image's /etc/passwd, or
// 0) and runAsGroup over the image's user; the groups /etc/group gives
// that user, its primary group, then the pod's fsGroup and
// supplementalGroups. They come after oci.WithImageConfig.
func userOpts(c plan.Container, imageUser string) []oci.SpecOpts {
	sc := c.SecurityContext
	if sc == nil || sc.RunAsUser == nil && sc.RunAsGroup == nil && len(sc.SupplementalGroups) == 0 {
		return nil // the image's user and groups (oci.WithImageConfig)
	}
	var opts []oci.SpecOpts
	switch {
	case sc.RunAsUser != nil && sc.RunAsGroup != nil:
		opts = append(opts, oci.WithUIDGID(uint32(*sc.RunAsUser), uint32(*sc.RunAsGroup)))
	case sc.RunAsUser != nil:
		opts = append(opts, oci.WithUserID(uint32(*sc.RunAsUser)))
	case sc.RunAsGroup != nil:
		gid := uint32(*sc.RunAsGroup)
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Process.User.GID = gid
			return nil
		})
	}
	// The user whose /etc/group memberships count: containerd's CRI takes
	// runAsUser, else the user part of the image's, else root.
	user := "0"
	if sc.RunAsUser != nil {
		user = strconv.FormatInt(*sc.RunAsUser, 10)
	} else if u, _, _ := strings.Cut(imageUser, ":"); u != "" {
		user = u
	}
	groups := make([]uint32, 0, len(sc.SupplementalGroups))
	for _, g := range sc.SupplementalGroups {
		groups = append(groups, uint32(g))
	}
	return append(opts, oci.WithAdditionalGIDs(user), func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for _, g := range groups {
			if !slices.Contains(s.Process.User.AdditionalGids, g) {
				s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, g)
			}
		}
		return nil
	})
}

// securityOpts are the rest of the security context: a read-only root
// filesystem, privileged, capabilities, and no_new_privs exactly when
// allowPrivilegeEscalation is false (the kubelet's AddNoNewPrivileges;
// the OCI default spec sets it, containerd's CRI clears it first).
func securityOpts(c plan.Container) []oci.SpecOpts {
	opts := []oci.SpecOpts{oci.WithNewPrivileges}
	sc := c.SecurityContext
	if sc == nil {
		return opts
	}
	if sc.ReadOnlyRootFilesystem {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if sc.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	}
	if caps := sc.Capabilities; caps != nil {
		if capsHave(caps.Drop, "ALL") {
			opts = append(opts, oci.WithCapabilities(nil))
		} else if len(caps.Drop) > 0 {
			opts = append(opts, oci.WithDroppedCapabilities(capNames(caps.Drop)))
		}
		// "ALL" in any case means every capability, as containerd's CRI reads it.
		if capsHave(caps.Add, "ALL") {
			opts = append(opts, oci.WithAllCurrentCapabilities)
		} else if len(caps.Add) > 0 {
			opts = append(opts, oci.WithAddedCapabilities(capNames(caps.Add)))
		}
	}
	if a := sc.AllowPrivilegeEscalation; a != nil && !*a {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	return opts
}

func capsHave(list []string, name string) bool {
	for _, c := range list {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}

// capNames turns Kubernetes names ("NET_ADMIN") into OCI's ("CAP_NET_ADMIN").
func capNames(in []string) []string {
	out := make([]string, 0, len(in))
	for _, c := range in {
		c = strings.ToUpper(c)
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	return out
}

// verifyRunAsNonRoot is the kubelet's check before it creates a
// container whose effective runAsNonRoot is true: the user it will run
// as, from runAsUser or else the image's, must not be root, and an
// image user given by name cannot be checked. A failure is the
// kubelet's CreateContainerConfigError, with its message (the pod is
// named name_namespace; berth pods have no UID).
func verifyRunAsNonRoot(p *plan.Pod, c plan.Container, imageUser string) error {
	sc := c.SecurityContext
	if sc == nil || !sc.RunAsNonRoot {
		return nil
	}
	pod := p.Name + "_" + p.Namespace
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", pod, c.Name)
		}
		return nil
	}
	user, _, _ := strings.Cut(imageUser, ":")
	if user == "" {
		user = "0" // an image without a user runs as root
	}
	uid, err := strconv.ParseInt(user, 10, 64)
	switch {
	case err != nil:
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", user, pod, c.Name)
	case uid == 0:
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", pod, c.Name)
	}
	return nil
}

// sysctlOpts set the pod's sysctls in the container's spec: runc writes
// them in the namespaces the container joins, which are the pod's (a
// net.* one in its network namespace, an IPC one in its IPC namespace),
// so every container of the pod sees the same values.
func sysctlOpts(p *plan.Pod) []oci.SpecOpts {
	ps := p.Spec.SecurityContext
	if ps == nil || len(ps.Sysctls) == 0 {
		return nil
	}
	return []oci.SpecOpts{func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		for _, sc := range ps.Sysctls {
			s.Linux.Sysctl[sc.Name] = sc.Value
		}
		return nil
	}}
}
