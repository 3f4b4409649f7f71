package containerd

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// TestPostStartExec: the container is not running until its postStart
// hook has run; a failing hook kills it (PostStartHookError) and it is
// restarted under restartPolicy Always, and its pod fails under Never.
func TestPostStartExec(t *testing.T) {
	rt := newRuntime(t)
	app := shared(container("app", "sh", "-c", `echo app-start >> /shared/log; while :; do sleep 0.1; done`))
	app.PostStart = &plan.LifecycleHandler{Exec: &plan.ExecAction{Command: []string{"sh", "-c", "sleep 1; echo hook-done >> /shared/log"}}}
	ok := testPod("poststart", app)
	ok.Spec.Volumes = []plan.Volume{{Name: "shared", Kind: "emptyDir"}}

	bad := container("app", "sh", "-c", "while :; do sleep 0.1; done")
	bad.PostStart = &plan.LifecycleHandler{Exec: &plan.ExecAction{Command: []string{"false"}}}
	failing := testPod("poststart-fails", bad)
	never := testPod("poststart-never", bad)
	never.Spec.RestartPolicy = "Never"
	cleanup(t, rt, ok.Key(), failing.Key(), never.Key())
	for _, p := range []*plan.Pod{ok, failing, never} {
		if err := rt.CreatePod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	dir := volPath(t, rt, ok.Key(), "shared")
	waitPod(t, rt, ok.Key(), 60*time.Second, "running", func(p *nodes.PodStatus) bool {
		if p.Containers[0].State != nodes.StateRunning {
			return false
		}
		if got := strings.Join(readLines(filepath.Join(dir, "log")), " "); got != "app-start hook-done" {
			t.Errorf("running before its postStart hook was done: log %q", got)
		}
		return true
	})

	st := waitPod(t, rt, failing.Key(), 60*time.Second, "killed by its failed hook", func(p *nodes.PodStatus) bool {
		c := p.Containers[0]
		return c.Reason == ReasonPostStartHookError && c.RestartCount >= 1
	})
	if c := st.Containers[0]; !strings.Contains(c.Message, `Exec lifecycle hook ([false]) for Container "app"`) {
		t.Errorf("message %q", c.Message)
	}
	if st.Containers[0].Ready || st.Ready {
		t.Errorf("ready with a failing postStart hook: %+v", st)
	}
	st = waitPod(t, rt, never.Key(), 60*time.Second, "failed", func(p *nodes.PodStatus) bool { return p.Phase == nodes.PhaseFailed })
	if c := st.Containers[0]; c.State != nodes.StateTerminated || c.RestartCount != 0 {
		t.Errorf("restartPolicy Never: %+v, want terminated, never restarted", c)
	}
}

// TestPostStartHTTP: the httpGet hook's request arrives (path, headers)
// before the container runs; any answer passes, as on the kubelet (the
// server answers 500); a hook that cannot connect kills the container.
func TestPostStartHTTP(t *testing.T) {
	rt := newRuntime(t)
	var mu sync.Mutex
	var got []string
	answered := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get("X-Hook"))
		mu.Unlock()
		time.Sleep(time.Second)
		w.WriteHeader(http.StatusInternalServerError)
		select {
		case <-answered:
		default:
			close(answered)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	app := container("app", "sh", "-c", "while :; do sleep 0.1; done")
	app.PostStart = &plan.LifecycleHandler{HTTPGet: &plan.HTTPGetAction{Host: "127.0.0.1", Path: "/started", Port: plan.IntOrString{IntVal: int32(port)},
		HTTPHeaders: []plan.HTTPHeader{{Name: "X-Hook", Value: "berth"}}}}
	ok := testPod("poststart-http", app)
	closed := container("app", "sh", "-c", "while :; do sleep 0.1; done")
	closed.PostStart = &plan.LifecycleHandler{HTTPGet: &plan.HTTPGetAction{Host: "127.0.0.1", Path: "/", Port: plan.IntOrString{IntVal: 1}}}
	refused := testPod("poststart-http-refused", closed)
	cleanup(t, rt, ok.Key(), refused.Key())
	for _, p := range []*plan.Pod{ok, refused} {
		if err := rt.CreatePod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	waitPod(t, rt, ok.Key(), 60*time.Second, "running", func(p *nodes.PodStatus) bool {
		if p.Containers[0].State != nodes.StateRunning {
			return false
		}
		select {
		case <-answered:
		default:
			t.Error("running before the postStart hook's answer")
		}
		return true
	})
	mu.Lock()
	if !slices.Equal(got, []string{"/started berth"}) {
		t.Errorf("hook requests %q, want one GET /started with X-Hook: berth", got)
	}
	mu.Unlock()
	waitPod(t, rt, refused.Key(), 60*time.Second, "killed by its failed hook", func(p *nodes.PodStatus) bool {
		c := p.Containers[0]
		return c.Reason == ReasonPostStartHookError && c.RestartCount >= 1 && strings.Contains(c.Message, "HTTP lifecycle hook")
	})
}

// TestGRPCProbe: a grpc readiness probe makes the pod ready while the
// server answers SERVING for it and not ready once it answers
// NOT_SERVING; a grpc liveness probe of another service kills the
// container when that service stops serving, with the probe's own
// terminationGracePeriodSeconds (1 s) rather than the pod's (120 s):
// the container ignores SIGTERM, so it is SIGKILLed (137) after 1 s.
// The pod is on the host network, so its probes go to 127.0.0.1, where
// the test serves the standard health service.
func TestGRPCProbe(t *testing.T) {
	rt := newRuntime(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("live", healthpb.HealthCheckResponse_SERVING)
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	port := int32(ln.Addr().(*net.TCPAddr).Port)

	app := container("app", "sh", "-c", `trap '' TERM; while :; do sleep 0.1; done`)
	live := "live"
	grace := int64(1)
	app.ReadinessProbe = &plan.Probe{GRPC: &plan.GRPCAction{Port: port}, PeriodSeconds: 1}
	app.LivenessProbe = &plan.Probe{GRPC: &plan.GRPCAction{Port: port, Service: &live}, PeriodSeconds: 1, FailureThreshold: 1, TerminationGracePeriodSeconds: &grace}
	p := testPod("grpc-probe", app)
	p.Spec.HostNetwork = true
	p.Spec.TerminationGracePeriodSeconds = 120
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "ready (SERVING)", func(p *nodes.PodStatus) bool { return p.Ready })
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	waitPod(t, rt, p.Key(), 20*time.Second, "not ready (NOT_SERVING)", func(p *nodes.PodStatus) bool { return !p.Ready && p.Phase == nodes.PhaseRunning })
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("live", healthpb.HealthCheckResponse_NOT_SERVING)
	// A kill with the pod's 120 s would not end within this wait; the
	// probe keeps failing, so each restart's back-off shows the exit.
	waitPod(t, rt, p.Key(), 30*time.Second, "SIGKILLed after the probe's grace period", func(p *nodes.PodStatus) bool {
		c := p.Containers[0]
		return c.RestartCount >= 1 && c.Reason == "CrashLoopBackOff" && strings.Contains(c.Message, "(137)")
	})
}
