package containerd

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/sys/mountinfo"

	"berth.dev/berth/compiler/plan"
)

// Mount propagation modes, by Kubernetes' names.
const (
	propagationHostToContainer = "HostToContainer"
	propagationBidirectional   = "Bidirectional"
)

// propagation is the bind mount option of a volume mount, as containerd's
// CRI sets it: rprivate (None), rslave (HostToContainer: mounts the host
// makes under the volume appear in the container), rshared
// (Bidirectional: and the container's appear on the host). The last two
// need the volume's host mount to propagate at all, so, as the CRI does,
// they are refused when it is not shared (or, for HostToContainer, a
// slave).
func propagation(src, mode string) (string, error) {
	switch mode {
	case propagationHostToContainer:
		if err := ensureShared(src, true); err != nil {
			return "", err
		}
		return "rslave", nil
	case propagationBidirectional:
		if err := ensureShared(src, false); err != nil {
			return "", err
		}
		return "rshared", nil
	}
	return "rprivate", nil
}

// ensureShared checks that the mount holding path is shared (or, with
// slaveOK, a slave of a shared one).
func ensureShared(path string, slaveOK bool) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(real))
	if err != nil {
		return fmt.Errorf("read mounts: %w", err)
	}
	var best *mountinfo.Info
	for _, m := range mounts {
		if best == nil || len(m.Mountpoint) >= len(best.Mountpoint) {
			best = m
		}
	}
	if best == nil {
		return fmt.Errorf("no mount holds %s", real)
	}
	for _, opt := range strings.Fields(best.Optional) {
		if strings.HasPrefix(opt, "shared:") || slaveOK && strings.HasPrefix(opt, "master:") {
			return nil
		}
	}
	what := "shared"
	if slaveOK {
		what = "shared or slave"
	}
	return fmt.Errorf("path %q is mounted on %q but it is not a %s mount (make it one: mount --make-rshared %s)", real, best.Mountpoint, what, best.Mountpoint)
}

// withRootPropagation sets the propagation of the container's root as
// the CRI does: rshared when a mount is Bidirectional, else rslave when
// one is HostToContainer (runc's default, rprivate, would stop the
// events at the root).
func withRootPropagation(c plan.Container) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for _, m := range c.VolumeMounts {
			switch {
			case m.MountPropagation == propagationBidirectional:
				s.Linux.RootfsPropagation = "rshared"
			case m.MountPropagation == propagationHostToContainer && s.Linux.RootfsPropagation != "rshared":
				s.Linux.RootfsPropagation = "rslave"
			}
		}
		return nil
	}
}
