package containerd

import (
	"context"
	"errors"
	"fmt"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/errdefs"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// createContainers pulls the images and creates the containerd containers
// that do not exist yet, retrying a failed pull with back-off while the
// other pods go on.
func (r *Runtime) createContainers(ctx context.Context, pd *pod) bool {
	bo := r.newBackoff()
	failures := 0
	for {
		err := r.tryCreate(ctx, pd)
		if err == nil {
			pd.mu.Lock()
			pd.reason, pd.message = "", ""
			pd.mu.Unlock()
			return true
		}
		if r.stopping(pd) {
			return false
		}
		failures++
		reason, msg := createReason(err, failures)
		delay := bo.next(0)
		r.log.Warn("pod not started", "pod", pd.key, "reason", reason, "err", err, "retry", delay)
		pd.mu.Lock()
		pd.reason, pd.message = reason, msg
		for _, c := range pd.all() {
			if !c.created {
				c.state.State, c.state.Reason, c.state.Message = nodes.StateWaiting, reason, msg
			}
		}
		pd.mu.Unlock()
		if !r.sleep(pd, delay) {
			return false
		}
	}
}

// createReason names a failed attempt to create a pod's containers the
// way the kubelet does: ErrImagePull for a failed pull, ImagePullBackOff
// from the second one on (the pod waits out a back-off between pulls),
// ErrImageNeverPull for a missing image that may not be pulled, and
// CreateContainerError for the rest.
func createReason(err error, failures int) (reason, msg string) {
	var ce *createError
	var cfg *configError
	switch {
	case errors.As(err, &cfg):
		return "CreateContainerConfigError", err.Error()
	case errors.As(err, &ce):
		return "CreateContainerError", err.Error()
	case errors.Is(err, errNeverPull):
		return "ErrImageNeverPull", err.Error()
	case failures > 1:
		return "ImagePullBackOff", "Back-off pulling image: " + err.Error()
	}
	return "ErrImagePull", err.Error()
}

type createError struct{ err error }

func (e *createError) Error() string { return e.err.Error() }
func (e *createError) Unwrap() error { return e.err }

func (r *Runtime) tryCreate(ctx context.Context, pd *pod) error { return r.createMissing(ctx, pd, nil) }

// createMissing creates the pod's containers that do not exist yet (only
// that one when only is set).
func (r *Runtime) createMissing(ctx context.Context, pd *pod, only *ctr) error {
	pd.mu.Lock()
	spec, ip := pd.spec, pd.ip
	all := pd.all()
	pd.mu.Unlock()
	var mounts map[string]string
	var hosts, resolv string
	// The Service variables are the kubelet's: taken from the Services
	// the node knows when the container is created, never stored in the
	// pod, and not updated in a running container.
	var svcEnv []plan.EnvVar
	if spec.Spec.ServiceLinks() && r.opts.ServiceEnv != nil {
		svcEnv = r.opts.ServiceEnv(spec.Namespace)
	}
	for _, c := range all {
		if only != nil && c != only {
			continue
		}
		pd.mu.Lock()
		created := c.created
		pd.mu.Unlock()
		if created {
			continue
		}
		// Used from now on: the image GC must not take it between the
		// check for it and the container that holds it.
		if name, err := normalize(c.spec.Image); err == nil {
			r.noteUsed(name)
		}
		img, err := r.ensureImage(ctx, c.spec.Image, c.spec.ImagePullPolicy, spec.Spec.RegistryAuths)
		if err != nil {
			return err
		}
		if mounts == nil {
			if mounts, err = r.vols.Prepare(r.project(spec)); err != nil {
				return &createError{fmt.Errorf("volumes: %w", err)}
			}
			if hosts, err = r.vols.WriteHosts(spec, ip, r.clusterDomain()); err != nil {
				return &createError{fmt.Errorf("/etc/hosts: %w", err)}
			}
			if resolv, err = r.writeResolvConf(spec); err != nil {
				return &createError{err}
			}
			pd.mu.Lock()
			pd.volPaths = mounts
			pd.mu.Unlock()
		}
		user, err := imageUser(ctx, img)
		if err != nil {
			return &createError{err}
		}
		if err := verifyRunAsNonRoot(spec, c.spec, user); err != nil {
			return &configError{err}
		}
		subPaths, err := r.subPathTargets(spec, c)
		if err != nil {
			return &createError{err}
		}
		termLog, err := r.terminationLog(pd.key, c.spec.Name)
		if err != nil {
			return &createError{err}
		}
		pidNS, err := r.podPIDNamespace(pd)
		if err != nil {
			return &createError{err}
		}
		opts, err := specOpts(img, specInput{pod: spec, c: c.spec, ip: ip, node: &r.node, ns: pd.ns, mounts: mounts, subPaths: subPaths, hosts: hosts, resolv: resolv, serviceEnv: svcEnv,
			imageUser: user, seccompRoot: r.opts.SeccompProfileRoot, termLog: termLog, pidNS: pidNS})
		if err != nil {
			return &createError{err}
		}
		labels := r.podLabels(pd, c)
		_, err = r.client.NewContainer(ctx, c.id,
			containerd.WithImage(img),
			containerd.WithNewSnapshot(c.id, img, snapshots.WithLabels(labels)),
			containerd.WithNewSpec(opts...),
			containerd.WithContainerLabels(labels),
		)
		if errdefs.IsAlreadyExists(err) {
			// A leftover of an earlier pod with this name: replace it.
			if derr := r.deleteContainer(ctx, c.id); derr != nil {
				return &createError{derr}
			}
			return &createError{fmt.Errorf("container %s existed; removed it, retrying", c.id)}
		}
		if err != nil {
			return &createError{fmt.Errorf("create container %s: %w", c.spec.Name, err)}
		}
		pd.mu.Lock()
		c.created = true
		c.state.Reason, c.state.Message = "ContainerCreating", ""
		pd.mu.Unlock()
	}
	return nil
}
