package containerd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"

	"berth.dev/berth/nodes"
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
	if err := rt.StopPod(short, p.Key(), time.Time{}); err == nil {
		t.Fatal("the first stop returned within 1 s; the container ignores SIGTERM for 3 s")
	}
	if err := rt.StopPod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Grace 3 s from the first try; a retry starting its own grace would
	// end after 1 + 3 s.
	if took := time.Since(start); took < 2500*time.Millisecond || took > 3800*time.Millisecond {
		t.Errorf("stopped %v after the first try, want about 3 s (the first try's grace period)", took.Round(100*time.Millisecond))
	}
}

// TestStopAfterRestartKeepsRecordedDeadline: the daemon dies while a pod
// uses its grace period (30 s); a new Runtime re-adopts the pod, and the
// stop issued again with the deadline recorded when it began kills the
// pod when that deadline passes, not a new grace period later.
func TestStopAfterRestartKeepsRecordedDeadline(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	p := testPod("restart-stop", container("app", "sleep", "3600")) // ignores SIGTERM
	p.Spec.TerminationGracePeriodSeconds = 30
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)

	began := time.Now()
	deadline := began.Add(3 * time.Second)
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := rt.StopPod(short, p.Key(), deadline); err == nil {
		t.Fatal("the stop returned before its caller gave up; the container ignores SIGTERM")
	}
	terminating := func(what string) {
		t.Helper()
		st, err := rt.Observe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := st.Pod(p.Key()); s == nil || s.Ready || s.Reason != "Terminating" {
			t.Errorf("%s: %+v, want not ready, reason Terminating", what, s)
		}
	}
	terminating("in its grace period")
	rt.Close() // the daemon is gone; the container keeps running

	rt = newRuntime(t)
	cleanup(t, rt, p.Key())
	terminating("re-adopted in its grace period")
	if err := rt.RemovePod(ctx, p.Key(), deadline); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 2500*time.Millisecond || took > 8*time.Second {
		t.Errorf("removed %v after the stop began, want about 3 s (the recorded deadline)", took.Round(100*time.Millisecond))
	}
}

// TestReadoptJobPodWithLostExit: a daemon stopped after a Job container's
// task was deleted and before its exit was recorded (older daemons
// deleted the task first; now the record comes first). The re-adopted
// pod is not run again: its container reads ContainerStatusUnknown, as
// the kubelet reports a container it cannot find.
func TestReadoptJobPodWithLostExit(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	job := testPod("lost-exit", container("work", "sh", "-c", "echo done"))
	job.Spec.RestartPolicy = "Never"
	if err := rt.CreatePod(ctx, job); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, job.Key(), 60*time.Second, "succeeded", func(p *nodes.PodStatus) bool { return p.Phase == nodes.PhaseSucceeded })
	id := rt.lookup(job.Key()).apps[0].id
	rt.Close()

	// What that daemon left: no task, no exit in the labels.
	client, err := dial(ctx, testOptions(nil).Address)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nctx := namespaces.WithNamespace(ctx, testNamespace)
	c, err := client.LoadContainer(nctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetLabels(nctx, map[string]string{labelReason: "", labelExitCode: "", labelFinishedAt: ""}); err != nil {
		t.Fatal(err)
	}
	if task, err := c.Task(nctx, nil); err == nil {
		if _, err := task.Delete(nctx); err != nil {
			t.Fatal(err)
		}
	}

	rt = newRuntime(t)
	cleanup(t, rt, job.Key())
	st := waitPod(t, rt, job.Key(), 5*time.Second, "observed", func(*nodes.PodStatus) bool { return true })
	time.Sleep(time.Second)
	var log strings.Builder
	if err := rt.Logs(ctx, job.Key(), "work", false, false, &log); err != nil || strings.Count(log.String(), "done") != 1 {
		t.Errorf("job log %q (%v): run again", log.String(), err)
	}
	if st.Phase != nodes.PhaseFailed || st.Containers[0].Reason != "ContainerStatusUnknown" {
		t.Errorf("re-adopted: %s %s, want Failed, ContainerStatusUnknown", st.Phase, st.Containers[0].Reason)
	}
}
