package containerd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/compiler/plan"
)

// maxSeccompProfile bounds a Localhost profile file: real ones are tens
// of kilobytes.
const maxSeccompProfile = 1 << 20

// seccompProfile is the profile c runs under: its securityContext's (or
// the pod's), RuntimeDefault when neither names one (Kubernetes'
// SeccompDefault, on by default since 1.27), and none for a privileged
// container, as under containerd's CRI.
func seccompProfile(c plan.Container) plan.SeccompProfile {
	sc := c.SecurityContext
	switch {
	case sc != nil && sc.Privileged:
		return plan.SeccompProfile{Type: plan.SeccompUnconfined}
	case sc != nil && sc.Seccomp != nil:
		return *sc.Seccomp
	}
	return plan.SeccompProfile{Type: plan.SeccompRuntimeDefault}
}

// isolationOpts set the seccomp profile, on top of the OCI default spec,
// which already masks /proc/kcore, /proc/keys, /sys/firmware and friends
// and mounts /proc/sys, /proc/sysrq-trigger and others read-only
// (oci.WithPrivileged lifts both for a privileged container):
//   - RuntimeDefault is containerd's default profile, computed from the
//     capabilities the container ends up with, so it comes after
//     securityOpts;
//   - Localhost reads the profile (OCI's JSON, as containerd's CRI does)
//     from root/localhostProfile, never outside root.
func isolationOpts(c plan.Container, root string) ([]oci.SpecOpts, error) {
	p := seccompProfile(c)
	switch p.Type {
	case plan.SeccompRuntimeDefault:
		return []oci.SpecOpts{seccomp.WithDefaultProfile()}, nil
	case plan.SeccompUnconfined:
		return []oci.SpecOpts{oci.WithSeccompUnconfined}, nil
	case plan.SeccompLocalhost:
		prof, err := localhostProfile(root, p.LocalhostProfile)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile %q (Localhost): %w", p.LocalhostProfile, err)
		}
		return []oci.SpecOpts{func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Linux.Seccomp = prof
			return nil
		}}, nil
	}
	return nil, fmt.Errorf("unknown seccomp profile type %q", p.Type)
}

// localhostProfile reads a profile under root; a symlink cannot lead
// out of it (securejoin), and the file is bounded.
func localhostProfile(root, name string) (*specs.LinuxSeccomp, error) {
	if name == "" {
		return nil, fmt.Errorf("no localhostProfile")
	}
	path, err := securejoin.SecureJoin(root, name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w; put the profile under the node's seccomp directory %s (--seccomp-profile-root)", err, root)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSeccompProfile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSeccompProfile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxSeccompProfile)
	}
	var prof specs.LinuxSeccomp
	if err := json.Unmarshal(b, &prof); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &prof, nil
}
