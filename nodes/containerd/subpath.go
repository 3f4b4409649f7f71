package containerd

import (
	"fmt"
	"slices"
	"strings"

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
		if m.SubPath == "" && m.SubPathExpr == "" {
			continue
		}
		t, err := r.vols.SubPathTarget(spec, volumes.SubPath{Volume: m.Name, Container: c.spec.Name, Index: i})
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
	spec, paths, ip := pd.spec, pd.volPaths, pd.ip
	pd.mu.Unlock()
	var envs []string
	for i, m := range c.spec.VolumeMounts {
		if m.SubPath == "" && m.SubPathExpr == "" {
			continue
		}
		sub := m.SubPath
		if m.SubPathExpr != "" {
			if envs == nil {
				envs = env(specInput{pod: spec, c: c.spec, ip: ip, node: &r.node})
			}
			var err error
			if sub, err = expandSubPath(m.SubPathExpr, envs); err != nil {
				return &configError{fmt.Errorf("container %s: volumeMount %q: subPathExpr %q: %w", c.spec.Name, m.Name, m.SubPathExpr, err)}
			}
		}
		if paths == nil {
			// A pod re-adopted from an earlier daemon: find its volumes.
			p, err := r.vols.Prepare(r.project(spec))
			if err != nil {
				return &configError{fmt.Errorf("volumes: %w", err)}
			}
			paths = p
			pd.mu.Lock()
			pd.volPaths = p
			pd.mu.Unlock()
		}
		sp := volumes.SubPath{Volume: m.Name, VolumePath: paths[m.Name], Container: c.spec.Name, Index: i, Path: sub}
		if sp.VolumePath == "" {
			return &configError{fmt.Errorf("container %s mounts unknown volume %q", c.spec.Name, m.Name)}
		}
		if _, err := r.vols.BindSubPath(spec, sp); err != nil {
			return &configError{fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q: %w", m.Name, c.spec.Name, err)}
		}
	}
	return nil
}

// expandSubPath expands the $(VAR) references of a subPathExpr from the
// container's environment (NAME=value entries, the last one of a name
// wins) by Kubernetes' expansion rules: $$ is a literal $, a $ that
// starts no reference is kept, and an unclosed $( is kept as is. Unlike
// in command and args, a variable that is missing or empty is an error,
// as on the kubelet.
func expandSubPath(expr string, envs []string) (string, error) {
	vars := make(map[string]string, len(envs))
	for _, e := range envs {
		k, v, _ := strings.Cut(e, "=")
		vars[k] = v
	}
	var missing []string
	var b strings.Builder
	for i := 0; i < len(expr); i++ {
		if expr[i] != '$' || i+1 == len(expr) {
			b.WriteByte(expr[i])
			continue
		}
		switch next := expr[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(expr[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := expr[i+2 : i+2+end]
			v := vars[name]
			if v == "" && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte('$')
			b.WriteByte(next)
			i++
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("missing value for %s", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

// configError is a container that cannot start because of its
// configuration on this node (the kubelet's CreateContainerConfigError).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }
