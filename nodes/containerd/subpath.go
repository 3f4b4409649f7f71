package containerd

import (
	"fmt"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/volumes"
)

// subPathTargets returns, for each volumeMount of c with a subPath, the
// mount point its spec binds (volumeMount index -> path). The spec never
// names a path inside a volume: runc would resolve it by name at every
// start and follow a symlink a container planted there.
func (r *Runtime) subPathTargets(spec *plan.Pod, c *ctr) (map[int]string, error) {
	var out map[int]string
	for i, m := range c.spec.VolumeMounts {
		if m.SubPath == "" {
			continue
		}
		t, err := r.vols.SubPathTarget(spec, volumes.SubPath{Volume: m.Name, Container: c.spec.Name, Index: i, Path: m.SubPath})
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.spec.Name, err)
		}
		if out == nil {
			out = map[int]string{}
		}
		out[i] = t
	}
	return out, nil
}

// bindSubPaths resolves c's subPaths and mounts them at their targets
// right before each start of c, as the kubelet does before it creates a
// container: what a container planted in the volume since the last start
// is resolved again, inside the volume.
func (r *Runtime) bindSubPaths(pd *pod, c *ctr) error {
	pd.mu.Lock()
	spec, paths := pd.spec, pd.volPaths
	pd.mu.Unlock()
	for i, m := range c.spec.VolumeMounts {
		if m.SubPath == "" {
			continue
		}
		if paths == nil {
			// A pod re-adopted from an earlier daemon: find its volumes.
			p, err := r.vols.Prepare(spec)
			if err != nil {
				return &configError{fmt.Errorf("volumes: %w", err)}
			}
			paths = p
			pd.mu.Lock()
			pd.volPaths = p
			pd.mu.Unlock()
		}
		sp := volumes.SubPath{Volume: m.Name, VolumePath: paths[m.Name], Container: c.spec.Name, Index: i, Path: m.SubPath}
		if sp.VolumePath == "" {
			return &configError{fmt.Errorf("container %s mounts unknown volume %q", c.spec.Name, m.Name)}
		}
		if _, err := r.vols.BindSubPath(spec, sp); err != nil {
			return &configError{fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: %w", m.Name, c.spec.Name, err)}
		}
	}
	return nil
}

// configError is a container that cannot start because of its
// configuration on this node (the kubelet's CreateContainerConfigError).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }
