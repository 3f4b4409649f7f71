package fake

import (
	"context"
	"errors"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

func pod(name string) *plan.Pod {
	return &plan.Pod{Namespace: "default", Name: name, Hash: "h1", Spec: plan.PodSpec{Containers: []plan.Container{{Name: "c", Image: "img:1"}}}}
}

func TestRuntimeKnobs(t *testing.T) {
	ctx := context.Background()
	clock := NewClock(time.Unix(0, 0))
	r := New(clock)
	r.AutoReady = false
	if err := r.CreatePod(ctx, pod("a")); err != nil {
		t.Fatal(err)
	}
	if err := r.CreatePod(ctx, pod("a")); err != nil {
		t.Fatalf("create is not idempotent: %v", err)
	}
	st, _ := r.Pod("default/a")
	if st.Ready || st.Phase != nodes.PhaseRunning || st.IP == "" {
		t.Fatalf("created pod %+v", st)
	}
	clock.Advance(time.Second)
	r.SetReady("default/a", true)
	if st, _ = r.Pod("default/a"); !st.Ready || !st.ReadySince.Equal(time.Unix(1, 0)) {
		t.Fatalf("ready pod %+v", st)
	}
	r.Crash("default/a", 3)
	if st, _ = r.Pod("default/a"); st.Ready || st.Restarts() != 3 {
		t.Fatalf("crashed pod %+v", st)
	}
	r.Exit("default/a", 1)
	if err := r.StopPod(ctx, "default/a", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if st, _ = r.Pod("default/a"); st.Phase != nodes.PhaseFailed || st.IP != "" || st.Containers[0].ExitCode != 1 {
		t.Fatalf("stopped pod %+v", st)
	}
	r.FailPull("img:1", "no such image")
	if err := r.CreatePod(ctx, pod("b")); err == nil {
		t.Fatal("failed pull: no error")
	}
	r.FailOnce("remove", "default/a", errors.New("boom"))
	if err := r.RemovePod(ctx, "default/a", time.Time{}); err == nil {
		t.Fatal("FailOnce: no error")
	}
	if err := r.RemovePod(ctx, "default/a", time.Time{}); err != nil {
		t.Fatal(err)
	}
	r.Add(nodes.PodStatus{Namespace: "kube", Name: "foreign"})
	r.Delete("default/missing")
	s, _ := r.Observe(ctx)
	if len(s.Pods) != 1 || s.Pods[0].Name != "foreign" {
		t.Fatalf("observe %+v", s)
	}
	if got := len(r.Calls()); got != 6 {
		t.Fatalf("%d calls recorded, want 6", got)
	}
}

func TestRouter(t *testing.T) {
	var r Router
	if err := r.Sync(context.Background(), []nodes.ServiceRoute{{Namespace: "default", Name: "web"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Route("default/web"); !ok || r.Syncs() != 1 {
		t.Fatal("route not kept")
	}
}
