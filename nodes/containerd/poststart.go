package containerd

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"

	"berth.dev/berth/compiler/plan"
)

// ReasonPostStartHookError is the waiting reason of a container whose
// postStart hook failed (the kubelet's ErrPostStartHook); it was killed
// and waits for its restart.
const ReasonPostStartHookError = "PostStartHookError"

// postStart runs c's postStart hook right after its task started, as the
// kubelet's startContainer does: the container is not running (nor
// ready, nor started for the init containers after it) until the hook
// is done. An error is the hook's failure: the caller kills the
// container. A task the daemon re-attached to ran its hook already.
func (r *Runtime) postStart(ctx context.Context, pd *pod, c *ctr, task containerd.Task) error {
	pd.mu.Lock()
	at := c.runningAt
	c.runningAt = time.Time{}
	ip := pd.hookIP()
	key := pd.key
	pd.mu.Unlock()
	h := c.spec.PostStart
	if h == nil || at.IsZero() {
		return nil
	}
	// The hook has no time limit (the kubelet gives it none), but it
	// ends with the pod.
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-pd.stop:
			cancel()
		case <-hctx.Done():
		}
	}()
	var err error
	switch {
	case h.Exec != nil:
		var code int
		code, err = r.exec(hctx, c.id, task, h.Exec.Command)
		if err == nil && code != 0 {
			err = fmt.Errorf("command '%s' exited with %d", strings.Join(h.Exec.Command, " "), code)
		}
		if err != nil {
			err = fmt.Errorf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %w", h.Exec.Command, c.spec.Name, key, err)
		}
	case h.HTTPGet != nil:
		err = hookHTTP(hctx, c.spec, h.HTTPGet.Host, ip, h)
		if err != nil {
			err = fmt.Errorf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %w", h.HTTPGet.Path, c.spec.Name, key, err)
		}
	case h.Sleep != nil:
		err = hookSleep(hctx, *h.Sleep)
	}
	if err != nil {
		return err
	}
	r.markRunning(pd, c, at)
	return nil
}

// hookIP is the address an httpGet hook without a host goes to: the
// pod's IP, or loopback on the host's network. The caller holds pd.mu.
func (pd *pod) hookIP() string {
	if pd.spec.Spec.HostNetwork {
		return "127.0.0.1"
	}
	return pd.ip
}

// hookHTTP is the kubelet's runHTTPHandler: a GET to the pod's IP (or
// the hook's host) with the probe's request; only an error fails, any
// answer passes (the kubelet reads no status code).
func hookHTTP(ctx context.Context, c plan.Container, host, podIP string, h *plan.LifecycleHandler) error {
	port, err := probePort(c, h.HTTPGet.Port)
	if err != nil {
		return err
	}
	if host == "" {
		host = podIP
	}
	scheme := strings.ToLower(h.HTTPGet.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	url := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/" + strings.TrimPrefix(h.HTTPGet.Path, "/")
	req, err := probeRequest(ctx, url, h.HTTPGet.HTTPHeaders)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// podGrace is the pod's terminationGracePeriodSeconds.
func (r *Runtime) podGrace(pd *pod) time.Duration {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return time.Duration(pd.spec.Spec.TerminationGracePeriodSeconds) * time.Second
}

// probeGrace is the grace period of the kill after the named probe
// ("liveness" or "startup") failed: the probe's own
// terminationGracePeriodSeconds when it has one, else the pod's
// (the kubelet's kuberuntime, killContainer after a probe failure).
func probeGrace(pod time.Duration, c plan.Container, probe string) time.Duration {
	p := c.LivenessProbe
	if probe == "startup" {
		p = c.StartupProbe
	}
	if p != nil && p.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	return pod
}

// hookSleep is the kubelet's runSleepHandler: it waits the seconds, or
// until ctx ends (the pod stops; an error, as for the kubelet).
func hookSleep(ctx context.Context, seconds int64) error {
	t := time.NewTimer(time.Duration(seconds) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("container terminated before sleep hook finished")
	}
}
