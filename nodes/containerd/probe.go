package containerd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"

	"berth.dev/berth/compiler/plan"
)

// probeTiming is a probe's timing with the Kubernetes defaults filled in.
type probeTiming struct {
	delay, period, timeout time.Duration
	failure, success       int
}

func timing(p *plan.Probe) probeTiming {
	t := probeTiming{
		delay:   time.Duration(p.InitialDelaySeconds) * time.Second,
		period:  time.Duration(p.PeriodSeconds) * time.Second,
		timeout: time.Duration(p.TimeoutSeconds) * time.Second,
		failure: int(p.FailureThreshold),
		success: int(p.SuccessThreshold),
	}
	if t.period <= 0 {
		t.period = 10 * time.Second
	}
	if t.timeout <= 0 {
		t.timeout = time.Second
	}
	if t.failure <= 0 {
		t.failure = 3
	}
	if t.success <= 0 {
		t.success = 1
	}
	return t
}

// startProbes runs c's startup, liveness and readiness probes until ctx
// ends. A failed startup or liveness probe is sent on unhealthy.
func (r *Runtime) startProbes(ctx context.Context, pd *pod, c *ctr, task containerd.Task, unhealthy chan<- string) {
	s := c.spec
	if s.StartupProbe == nil && s.LivenessProbe == nil && s.ReadinessProbe == nil {
		return
	}
	go func() {
		pd.mu.Lock()
		started := c.started
		pd.mu.Unlock()
		if s.StartupProbe != nil && !started {
			ok := r.probeLoop(ctx, pd, c, task, s.StartupProbe, func(bool) bool { return false })
			if !ok {
				if ctx.Err() == nil {
					select {
					case unhealthy <- "startup":
					default:
					}
				}
				return
			}
			pd.mu.Lock()
			c.started = true
			pd.mu.Unlock()
			r.updateReady(pd)
		}
		if s.ReadinessProbe != nil {
			go r.probeLoop(ctx, pd, c, task, s.ReadinessProbe, func(ok bool) bool {
				pd.mu.Lock()
				changed := c.state.Ready != ok
				c.state.Ready = ok
				pd.mu.Unlock()
				if changed {
					r.updateReady(pd)
				}
				return true
			})
		}
		if s.LivenessProbe != nil {
			if !r.probeLoop(ctx, pd, c, task, s.LivenessProbe, func(ok bool) bool { return ok }) && ctx.Err() == nil {
				select {
				case unhealthy <- "liveness":
				default:
				}
			}
		}
	}()
}

// probeLoop probes every period and calls result with each settled
// outcome (after the success or failure threshold). It stops when result
// returns false and reports whether that outcome was a success; it returns
// false when ctx ends.
func (r *Runtime) probeLoop(ctx context.Context, pd *pod, c *ctr, task containerd.Task, p *plan.Probe, result func(ok bool) bool) bool {
	t := timing(p)
	if t.delay > 0 {
		select {
		case <-time.After(t.delay):
		case <-ctx.Done():
			return false
		}
	}
	tick := time.NewTicker(t.period)
	defer tick.Stop()
	succ, fail := 0, 0
	for {
		err := r.probeOnce(ctx, pd, c, task, p, t.timeout)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			succ, fail = succ+1, 0
			if succ >= t.success && !result(true) {
				return true
			}
		} else {
			succ, fail = 0, fail+1
			if fail >= t.failure && !result(false) {
				return false
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
}

// probeOnce runs one exec, httpGet, tcpSocket or grpc probe.
func (r *Runtime) probeOnce(ctx context.Context, pd *pod, c *ctr, task containerd.Task, p *plan.Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pd.mu.Lock()
	ip := pd.ip
	if pd.spec.Spec.HostNetwork {
		ip = "127.0.0.1"
	}
	pd.mu.Unlock()
	switch {
	case p.Exec != nil:
		code, err := r.exec(ctx, c.id, task, p.Exec.Command)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("exit %d", code)
		}
		return nil
	case p.HTTPGet != nil:
		port, err := probePort(c.spec, p.HTTPGet.Port)
		if err != nil {
			return err
		}
		host := ip
		if p.HTTPGet.Host != "" {
			host = p.HTTPGet.Host
		}
		scheme := strings.ToLower(p.HTTPGet.Scheme)
		if scheme == "" {
			scheme = "http"
		}
		return httpProbe(ctx, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+"/"+strings.TrimPrefix(p.HTTPGet.Path, "/"), p.HTTPGet.HTTPHeaders)
	case p.GRPC != nil:
		return grpcProbe(ctx, ip, p.GRPC)
	case p.TCPSocket != nil:
		port, err := probePort(c.spec, p.TCPSocket.Port)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("probe has no handler")
}

// probeClient is the kubelet's probe client: no keep-alive, no proxy, no
// certificate check for HTTPS (a probe checks that the server answers,
// not who it is), and redirects followed only on the same host: the
// daemon probes from the node, and a pod that could redirect it anywhere
// would make the node fetch any URL it can reach.
var probeClient = &http.Client{
	Transport: &http.Transport{
		DisableKeepAlives:  true,
		DisableCompression: true,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet's HTTPS probes
	},
	CheckRedirect: sameHostRedirects,
}

// sameHostRedirects is the kubelet's redirect rule for probes: a redirect
// to another host is not followed and its 3xx answer counts (a success,
// as the kubelet's warning); at most 10 redirects.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// maxProbeBody is how much of an answer a probe reads (the kubelet's 10 KiB).
const maxProbeBody = 10 << 10

// httpProbe GETs url with the probe's headers: a status from 200 to 399
// passes.
func httpProbe(ctx context.Context, url string, headers []plan.HTTPHeader) error {
	req, err := probeRequest(ctx, url, headers)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// probePort resolves a numeric or named container port.
func probePort(c plan.Container, port plan.IntOrString) (int, error) {
	if !port.IsString {
		return int(port.IntVal), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, port.StrVal)
}

// exec runs args in the container's namespaces and returns the exit code.
func (r *Runtime) exec(ctx context.Context, id string, task containerd.Task, args []string) (int, error) {
	cont, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return 0, err
	}
	spec, err := cont.Spec(ctx)
	if err != nil {
		return 0, err
	}
	ps := *spec.Process
	ps.Args = args
	ps.Terminal = false
	var b [6]byte
	rand.Read(b[:])
	proc, err := task.Exec(ctx, "exec-"+hex.EncodeToString(b[:]), &ps, cio.NullIO)
	if err != nil {
		return 0, fmt.Errorf("exec %v: %w", args, err)
	}
	defer proc.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
	ch, err := proc.Wait(ctx)
	if err != nil {
		return 0, err
	}
	if err := proc.Start(ctx); err != nil {
		return 0, fmt.Errorf("exec %v: %w", args, err)
	}
	select {
	case st := <-ch:
		return int(st.ExitCode()), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("exec %v: %w", args, ctx.Err())
	}
}

// updateReady recomputes the pod's readiness and ReadySince.
func (r *Runtime) updateReady(pd *pod) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	ready := len(pd.apps) > 0
	for _, c := range pd.all() {
		if c.init > 0 && !c.sidecar {
			continue
		}
		if c.spec.ReadinessProbe == nil {
			c.state.Ready = c.state.State == "running" && c.started
		} else if c.state.State != "running" {
			c.state.Ready = false
		}
		// A sidecar's readiness counts in the pod's, as the kubelet's
		// ContainersReady condition counts it.
		ready = ready && c.state.Ready
		if c.sidecar && !c.upDone && c.started && c.state.State == "running" {
			c.upDone = true
			close(c.up)
		}
	}
	switch {
	case ready && pd.readySince.IsZero():
		pd.readySince = r.now()
	case !ready:
		pd.readySince = time.Time{}
	}
}

// probeRequest is the kubelet's probe request (pkg/probe/http
// newProbeRequest): the probe's headers (names canonicalized, repeated
// ones kept), a User-Agent and "Accept: */*" unless the probe sets them
// (an empty Accept sends none), and a Host header as the request's host.
func probeRequest(ctx context.Context, url string, headers []plan.HTTPHeader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, len(headers)+2)
	for _, x := range headers {
		h.Add(x.Name, x.Value)
	}
	if _, ok := h["User-Agent"]; !ok {
		h.Set("User-Agent", "berth-probe/1")
	}
	if _, ok := h["Accept"]; !ok {
		h.Set("Accept", "*/*")
	} else if h.Get("Accept") == "" {
		h.Del("Accept")
	}
	req.Header = h
	req.Host = h.Get("Host")
	return req, nil
}
