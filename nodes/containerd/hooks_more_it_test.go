package containerd

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// TestPreStopHTTPGetAndSleep: a preStop httpGet is sent before the
// container's SIGTERM, and the stop waits for its answer; a preStop
// sleep holds the SIGTERM back for its seconds.
func TestPreStopHTTPGetAndSleep(t *testing.T) {
	rt := newRuntime(t)
	var mu sync.Mutex
	var got []string
	var answered time.Time
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second)
		mu.Lock()
		got = append(got, r.URL.Path+" "+r.Header.Get("X-Hook"))
		answered = time.Now()
		mu.Unlock()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	// The trap makes SIGTERM end the container at once, so its finish
	// time is when it got the signal.
	const trapped = "trap 'exit 0' TERM; echo started; while :; do sleep 0.1; done"
	web := container("app", "sh", "-c", trapped)
	web.PreStopHook = &plan.LifecycleHandler{HTTPGet: &plan.HTTPGetAction{Host: "127.0.0.1", Path: "/drain", Port: plan.IntOrString{IntVal: int32(port)},
		HTTPHeaders: []plan.HTTPHeader{{Name: "X-Hook", Value: "berth"}}}}
	httpPod := testPod("prestop-http", web)
	httpPod.Spec.TerminationGracePeriodSeconds = 15
	sleeper := container("app", "sh", "-c", trapped)
	three := int64(3)
	sleeper.PreStopHook = &plan.LifecycleHandler{Sleep: &three}
	sleepPod := testPod("prestop-sleep", sleeper)
	sleepPod.Spec.TerminationGracePeriodSeconds = 15
	plain := testPod("prestop-none", container("app", "sh", "-c", trapped))
	plain.Spec.TerminationGracePeriodSeconds = 15
	pods := []*plan.Pod{httpPod, sleepPod, plain}
	cleanup(t, rt, httpPod.Key(), sleepPod.Key(), plain.Key())
	for _, p := range pods {
		if err := rt.CreatePod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	took := map[string]time.Duration{}
	for _, p := range pods {
		waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
		waitLog(t, rt, p.Key(), "app", "started", 10*time.Second)
		start := time.Now()
		if err := rt.StopPod(context.Background(), p.Key(), time.Time{}); err != nil {
			t.Fatal(err)
		}
		took[p.Name] = time.Since(start)
	}
	st := waitPod(t, rt, httpPod.Key(), 5*time.Second, "terminated", func(p *nodes.PodStatus) bool {
		return p.Containers[0].State == nodes.StateTerminated
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "/drain berth" {
		t.Fatalf("preStop requests %q, want one GET /drain with X-Hook: berth", got)
	}
	if fin := st.Containers[0].FinishedAt; fin.Before(answered) {
		t.Errorf("container finished at %v, before the preStop answer at %v: SIGTERM did not wait for the hook", fin, answered)
	}
	if st.Containers[0].ExitCode != 0 {
		t.Errorf("exit code %d, want 0 from the trap (SIGTERM, not SIGKILL)", st.Containers[0].ExitCode)
	}
	if d := took["prestop-sleep"]; d < 3*time.Second || d > 12*time.Second {
		t.Errorf("stop with a 3 s preStop sleep took %v", d)
	}
	if d := took["prestop-none"]; d >= 3*time.Second {
		t.Errorf("stop without a hook took %v: the sleep case proves nothing", d)
	}
}

// TestPostStartSleep: the container is not running until its postStart
// sleep is over.
func TestPostStartSleep(t *testing.T) {
	rt := newRuntime(t)
	app := container("app", "sh", "-c", "while :; do sleep 0.1; done")
	two := int64(2)
	app.PostStart = &plan.LifecycleHandler{Sleep: &two}
	p := testPod("poststart-sleep", app)
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	st := waitPod(t, rt, p.Key(), 60*time.Second, "running", func(p *nodes.PodStatus) bool {
		return p.Containers[0].State == nodes.StateRunning
	})
	// StartedAt is when the task started; running comes after the hook.
	if waited := time.Since(st.Containers[0].StartedAt); waited < 2*time.Second {
		t.Errorf("running %v after the task started, before its 2 s postStart sleep", waited)
	}
}
