// Package contract is the behaviour every pod runtime shares (the real
// containerd driver and nodes/fake), as one test both run, so the fake the
// reconciler's unit tests use cannot drift from the real driver.
package contract

import (
	"context"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Runtime is the reconciler's view of a pod driver.
type Runtime interface {
	Observe(ctx context.Context) (nodes.NodeState, error)
	CreatePod(ctx context.Context, p *plan.Pod) error
	StopPod(ctx context.Context, key string, deadline time.Time) error
	RemovePod(ctx context.Context, key string, deadline time.Time) error
	UpdatePodConfig(ctx context.Context, p *plan.Pod) error
}

// Options adapt the test to a runtime.
type Options struct {
	// Pod returns a runnable single-container pod named name that keeps
	// running until stopped.
	Pod func(name string) *plan.Pod
	// Timeout bounds each wait for the runtime to converge (a real
	// runtime starts pods asynchronously; the fake at once).
	Timeout time.Duration
}

// Test runs the contract against rt.
func Test(t *testing.T, rt Runtime, o Options) {
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	ctx := context.Background()
	p := o.Pod("contract")
	p.Labels = map[string]string{"app": "contract"}
	p.Owner = plan.Owner{Kind: "Deployment", Name: "contract"}
	p.Revision, p.ConfigHash = "rev1", "cfg1"
	key := p.Key()
	t.Cleanup(func() { rt.RemovePod(ctx, key, time.Time{}) })

	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatalf("CreatePod: %v", err)
	}
	st := wait(t, rt, key, o.Timeout, "running", func(s *nodes.PodStatus) bool {
		return s.Phase == nodes.PhaseRunning && len(s.Containers) == 1 && s.Containers[0].State == nodes.StateRunning
	})
	if st.Hash != p.Hash || st.ConfigHash != "cfg1" || st.Revision != "rev1" || st.Owner != p.Owner ||
		st.Labels["app"] != "contract" || st.IP == "" || st.StartedAt.IsZero() {
		t.Errorf("observed pod does not carry the plan's identity: %+v", st)
	}

	if err := rt.CreatePod(ctx, p); err != nil {
		t.Errorf("CreatePod of the same pod again: %v (must be idempotent)", err)
	}
	other := *p
	other.Hash = p.Hash + "-other"
	if err := rt.CreatePod(ctx, &other); err == nil {
		t.Error("CreatePod with another hash over a running pod succeeded (must fail: remove first)")
	}

	q := *p
	q.ConfigHash = "cfg2"
	if err := rt.UpdatePodConfig(ctx, &q); err != nil {
		t.Errorf("UpdatePodConfig: %v", err)
	}
	wait(t, rt, key, o.Timeout, "config hash cfg2", func(s *nodes.PodStatus) bool { return s.ConfigHash == "cfg2" })
	missing := o.Pod("contract-missing")
	if err := rt.UpdatePodConfig(ctx, missing); err == nil {
		t.Error("UpdatePodConfig of a missing pod succeeded")
	}

	if err := rt.StopPod(ctx, key, time.Time{}); err != nil {
		t.Fatalf("StopPod: %v", err)
	}
	st = wait(t, rt, key, o.Timeout, "stopped", func(s *nodes.PodStatus) bool {
		return len(s.Containers) == 1 && s.Containers[0].State == nodes.StateTerminated
	})
	if st.Phase != nodes.PhaseFailed || st.Reason != "Stopped" || st.IP != "" || st.Ready {
		t.Errorf("a pod stopped while running: want Failed, reason Stopped, IP released, not ready; got %+v", st)
	}
	if err := rt.StopPod(ctx, key, time.Time{}); err != nil {
		t.Errorf("StopPod again: %v", err)
	}

	if err := rt.RemovePod(ctx, key, time.Time{}); err != nil {
		t.Fatalf("RemovePod: %v", err)
	}
	if s, err := rt.Observe(ctx); err != nil || s.Pod(key) != nil {
		t.Errorf("removed pod still observed (%v)", err)
	}
	for name, f := range map[string]func(context.Context, string, time.Time) error{"RemovePod": rt.RemovePod, "StopPod": rt.StopPod} {
		if err := f(ctx, "default/never-existed", time.Time{}); err != nil {
			t.Errorf("%s of a missing pod: %v (must be a no-op)", name, err)
		}
	}
}

func wait(t *testing.T, rt Runtime, key string, timeout time.Duration, what string, ok func(*nodes.PodStatus) bool) nodes.PodStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *nodes.PodStatus
	for {
		s, err := rt.Observe(context.Background())
		if err != nil {
			t.Fatalf("Observe: %v", err)
		}
		if p := s.Pod(key); p != nil {
			last = p
			if ok(p) {
				return *p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s: not %s after %s; last %+v", key, what, timeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
