package containerd

import (
	"context"
	"testing"
	"time"
)

// TestStopRetryKeepsGraceDeadline: a stop whose caller gave up (its
// context ended) and that is tried again SIGKILLs when the first try's
// grace period ends, not a whole grace period after the retry.
func TestStopRetryKeepsGraceDeadline(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	// sleep as PID 1 has no SIGTERM handler: only SIGKILL stops it.
	p := testPod("stubborn", container("app", "sleep", "3600"))
	p.Spec.TerminationGracePeriodSeconds = 3
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)

	start := time.Now()
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := rt.StopPod(short, p.Key()); err == nil {
		t.Fatal("the first stop returned within 1 s; the container ignores SIGTERM for 3 s")
	}
	if err := rt.StopPod(ctx, p.Key()); err != nil {
		t.Fatal(err)
	}
	// Grace 3 s from the first try; a retry starting its own grace would
	// end after 1 + 3 s.
	if took := time.Since(start); took < 2500*time.Millisecond || took > 3800*time.Millisecond {
		t.Errorf("stopped %v after the first try, want about 3 s (the first try's grace period)", took.Round(100*time.Millisecond))
	}
}
