package containerd

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

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
	p.Spec.TerminationGracePeriodSeconds = 4
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)

	start := time.Now()
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rt.StopPod(short, p.Key(), time.Time{}); err == nil {
		t.Fatal("the first stop returned within 3 s; the container ignores SIGTERM for 4 s")
	}
	if err := rt.StopPod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Grace 4 s from the first try; a retry starting its own grace would
	// end after 3 + 4 s. The bounds leave a loaded machine 2.5 s of slack
	// either way.
	if took := time.Since(start); took < 3500*time.Millisecond || took > 6500*time.Millisecond {
		t.Errorf("stopped %v after the first try, want about 4 s (the first try's grace period, not 7 s)", took.Round(100*time.Millisecond))
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
	t.Cleanup(func() { // whichever Runtime is current by then
		if err := rt.RemovePod(ctx, p.Key(), time.Now()); err != nil {
			t.Errorf("remove %s: %v", p.Key(), err)
		}
		rt.Close()
	})
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
	t.Cleanup(func() { // whichever Runtime is current by then
		if err := rt.RemovePod(ctx, job.Key(), time.Time{}); err != nil {
			t.Errorf("remove %s: %v", job.Key(), err)
		}
		rt.Close()
	})
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
		if _, err := task.Delete(nctx); err != nil && !errdefs.IsNotFound(err) {
			t.Fatal(err)
		}
	}

	rt = newRuntime(t)
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

// TestStopWhileContainerStarts: StopPod comes while the supervisor starts
// a container's task (a first start, or a restart: a crash-looping pod, or
// a re-adopted one whose container exited while no daemon watched). The
// stop looked for a task before the task ran, found none, and waited for
// an exit that never came, while the task started a moment later ran on,
// ready, for good: an old pod stayed Ready beside the new ones after a
// daemon restart in the middle of a rollout. The test holds the start
// until the stop has begun.
func TestStopWhileContainerStarts(t *testing.T) {
	opts := testOptions(t)
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	p := testPod("start-stop", container("app", "sleep", "3600")) // ignores SIGTERM
	p.Spec.TerminationGracePeriodSeconds = 1
	opts.beforeStart = func(pod, _ string) {
		if pod == p.Key() {
			once.Do(func() {
				close(reached)
				<-release
			})
		}
	}
	rt := newRuntimeWith(t, opts)
	cleanup(t, rt, p.Key())
	ctx := context.Background()
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatal("the container was not started within 60 s")
	}
	pd := rt.lookup(p.Key())
	go func() {
		<-pd.stop // the stop has begun
		close(release)
	}()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := rt.StopPod(sctx, p.Key(), time.Time{}); err != nil {
		t.Fatalf("stop a pod whose container started meanwhile: %v", err)
	}
	st, err := rt.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Pod(p.Key()); s == nil || s.Ready || s.Containers[0].State != nodes.StateTerminated {
		t.Errorf("after the stop: %+v, want its container terminated, not ready", s)
	}
}

// TestTaskDeleteCutHalfWay: a task delete whose context is cancelled
// half-way (a daemon's Close while the supervisor deletes an exited task)
// can leave containerd's record of the task, with a shim that already
// answers "not found". The client's Task.Delete gives up on that answer,
// and every NewTask of the container then failed with "create task …:
// already exists" (TestReadoptFinishedJobPodNotRerun and
// TestReadoptJobPodWithLostExit under load). The test cuts deletes at
// growing delays, which leaves such records at some of them, and checks
// that deleteTask always lets the container run a task again.
func TestTaskDeleteCutHalfWay(t *testing.T) {
	rt := newRuntime(t)
	ctx := rt.nsCtx(context.Background())
	img, err := rt.ensureImage(ctx, testImage, "IfNotPresent", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := "berthtest-half-deleted"
	if err := rt.deleteContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	cont, err := rt.client.NewContainer(ctx, id, containerd.WithImage(img), containerd.WithNewSnapshot(id, img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("true"), oci.WithHostNamespace(specs.NetworkNamespace)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.deleteContainer(ctx, id); err != nil {
			t.Errorf("delete %s: %v", id, err)
		}
		rt.Close()
	})
	// A record an earlier run left, as startTask does before NewTask.
	if err := rt.deleteTask(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	const runs = 40
	half := 0
	for i := range runs {
		task, err := cont.NewTask(ctx, cio.NullIO)
		if err != nil {
			t.Fatalf("run %d: %v (after %d deletes that left a record)", i, err, half)
		}
		exited, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		<-exited
		cut, cancel := context.WithTimeout(ctx, time.Duration(i)*400*time.Microsecond)
		_, derr := task.Delete(cut)
		cancel()
		if derr == nil {
			continue
		}
		// containerd goes on with what it had begun of the cut delete
		// (removing the shim's record, which would remove the next
		// task's): a daemon restarts long after that is done.
		time.Sleep(300 * time.Millisecond)
		left, err := cont.Task(ctx, nil)
		if err != nil {
			left = nil
		} else if _, err := left.Status(ctx); errdefs.IsNotFound(err) {
			half++
		}
		if err := rt.deleteTask(ctx, id, left); err != nil {
			t.Fatalf("run %d: delete the task left by a delete cut half-way: %v", i, err)
		}
	}
	t.Logf("%d of %d deletes cut half-way left a record", half, runs)
}

// TestOrphanTaskDeleted: a container whose record is deleted while its
// task runs (containerd checks for a task only in the client, so `ctr c
// rm` racing a restart does this) leaves the task, its shim and its
// rootfs mount. deleteContainer finds and removes them by the id.
func TestOrphanTaskDeleted(t *testing.T) {
	rt := newRuntime(t)
	ctx := rt.nsCtx(context.Background())
	img, err := rt.ensureImage(ctx, testImage, "IfNotPresent", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := "berthtest-orphan-task"
	if err := rt.deleteContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	cont, err := rt.client.NewContainer(ctx, id, containerd.WithImage(img), containerd.WithNewSnapshot(id, img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "3600"), oci.WithHostNamespace(specs.NetworkNamespace)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = rt.deleteOrphanTask(ctx, id)
		_ = rt.client.SnapshotService("").Remove(ctx, id)
		rt.Close()
	})
	task, err := cont.NewTask(ctx, cio.NullIO)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The record goes, server side, with the task running.
	if err := rt.client.ContainerService().Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !taskListed(t, rt, ctx, id) {
		t.Fatal("the task should outlive its container's record")
	}
	if err := rt.deleteContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if taskListed(t, rt, ctx, id) {
		t.Error("the orphan task is still there after deleteContainer")
	}
	if _, err := rt.client.LoadContainer(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("the placeholder record is left: %v", err)
	}
}

func taskListed(t *testing.T, rt *Runtime, ctx context.Context, id string) bool {
	t.Helper()
	list, err := rt.client.TaskService().List(ctx, &tasks.ListTasksRequest{Filter: "id==" + id})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Tasks) > 0
}
