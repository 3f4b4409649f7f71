package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/fake"
	"berth.dev/berth/reconciler"
)

// batchPlan is workload kind/name (a Job or a CronJob) whose pods run
// command once.
func batchPlan(kind, name string, w plan.Workload, command string) *plan.Plan {
	tmpl := plan.Pod{Namespace: "default", Name: name, Hash: name + "-1", Owner: plan.Owner{Kind: kind, Name: name},
		Spec: plan.PodSpec{RestartPolicy: "Never", TerminationGracePeriodSeconds: 1, Containers: []plan.Container{{
			Name: "work", Image: image, ImagePullPolicy: "IfNotPresent", Command: []string{"sh", "-c", command}}}}}
	w.Kind, w.Namespace, w.Name, w.Revision, w.Node, w.Template = kind, "default", name, "abcdef", "n1", &tmpl
	return &plan.Plan{Revision: "r1", Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}}}, Workloads: []plan.Workload{w}}
}

// active counts the pods that hold resources: not finished.
func active(st nodes.NodeState) (n int, names []string) {
	for _, p := range st.Pods {
		if p.Phase != nodes.PhaseSucceeded && p.Phase != nodes.PhaseFailed {
			n++
			names = append(names, p.Name+":"+p.Phase)
		}
	}
	return n, names
}

// TestJobParallelismOnContainerd: completions 5, parallelism 2. A sampler
// observes the node every 50 ms beside the passes: never more than 2 pods
// unfinished at once (and 2 at some point, so parallelism is used); then
// 5 successes, the Job complete, and further passes start nothing.
func TestJobParallelismOnContainerd(t *testing.T) {
	n := newRealNode(t, realOpts{})
	p := batchPlan("Job", "batch", plan.Workload{Job: &plan.Job{Completions: 5, Parallelism: 2, BackoffLimit: 2}}, "sleep 2")

	var (
		mu      sync.Mutex
		most    int
		samples int
		over    []string
		// timeline is every change of the pods' phases, for the log.
		lastLine string
		timeline []string
	)
	check := func(st nodes.NodeState) {
		k, names := active(st)
		mu.Lock()
		defer mu.Unlock()
		if line := fmt.Sprint(phases(st)); line != lastLine {
			lastLine = line
			timeline = append(timeline, time.Now().Format("05.000")+" "+line)
		}
		samples++
		most = max(most, k)
		if k > 2 && len(over) < 5 {
			over = append(over, fmt.Sprint(names))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if st, err := n.rt.Observe(ctx); err == nil {
				check(st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	stopSampler := func() { cancel(); wg.Wait() }
	defer stopSampler()

	phase := n.workload
	start := time.Now()
	n.until(p, 90*time.Second, "the Job to complete", func() bool {
		check(n.observe())
		return phase().Phase == reconciler.JobComplete
	})
	took := time.Since(start)
	stopSampler()
	t.Logf("complete after %s; %d samples, at most %d pods at once", took.Round(time.Millisecond), samples, most)
	for _, l := range timeline {
		t.Log(l)
	}
	if len(over) > 0 {
		t.Errorf("more than 2 pods at once: %v", over)
	}
	if most != 2 {
		t.Errorf("at most %d pods ran at once, want parallelism 2", most)
	}
	if w := phase(); w.Succeeded != 5 || w.Completions != 5 {
		t.Fatalf("job status %+v", w)
	}
	before := n.observe()
	want := []string{"batch-abcde-0:Succeeded", "batch-abcde-1:Succeeded", "batch-abcde-2:Succeeded", "batch-abcde-3:Succeeded", "batch-abcde-4:Succeeded"}
	if got := phases(before); !slices.Equal(got, want) {
		t.Fatalf("pods %v, want %v", got, want)
	}
	for range 3 {
		res := n.pass(p)
		for _, a := range res.Actions {
			if a.Kind != reconciler.ActRecord {
				t.Errorf("a pass after completion acted: %+v", a)
			}
		}
	}
	after := n.observe()
	if got := phases(after); !slices.Equal(got, want) {
		t.Fatalf("after more passes, pods %v, want %v", got, want)
	}
	for i := range after.Pods {
		if !after.Pods[i].StartedAt.Equal(before.Pods[i].StartedAt) {
			t.Errorf("%s ran again", after.Pods[i].Name)
		}
	}
	if w := phase(); w.Phase != reconciler.JobComplete || w.Succeeded != 5 {
		t.Fatalf("after more passes, job status %+v", w)
	}
}

func phases(st nodes.NodeState) []string {
	var out []string
	for _, p := range st.Pods {
		out = append(out, p.Name+":"+p.Phase)
	}
	return out
}

// cronRun is the pod name of the run of CronJob tick scheduled at t.
func cronRun(t time.Time) string {
	return "tick-" + strconv.FormatInt(t.Unix()/60, 10) + "-abcde-0"
}

// TestCronJobForbidOnContainerd: "* * * * *" with Forbid and a job that
// sleeps 90 s, on the real runtime with an injected clock (minutes pass in
// milliseconds): the 12:01 run starts and runs; at 12:02 and 12:03 it is
// still active, so those runs are skipped; once it has ended, 12:04 runs.
func TestCronJobForbidOnContainerd(t *testing.T) {
	day := func(hh, mm, ss int) time.Time { return time.Date(2026, 11, 25, hh, mm, ss, 0, time.UTC) }
	clock := fake.NewClock(day(12, 0, 30))
	n := newRealNode(t, realOpts{clock: clock})
	// startingDeadlineSeconds 20: a schedule skipped while the run was
	// active is not started late when it ends (without a deadline it is,
	// as in Kubernetes).
	deadline := int64(20)
	p := batchPlan("CronJob", "tick", plan.Workload{CronJob: &plan.CronJob{Schedule: "* * * * *", ConcurrencyPolicy: "Forbid",
		StartingDeadlineSeconds: &deadline, SuccessfulJobsHistoryLimit: 3, FailedJobsHistoryLimit: 1, Job: plan.Job{Completions: 1, Parallelism: 1}}}, "sleep 90")
	status := n.workload

	n.pass(p) // 12:00:30: nothing due
	if got := phases(n.observe()); len(got) != 0 {
		t.Fatalf("12:00:30: pods %v before any schedule", got)
	}
	clock.Set(day(12, 1, 0))
	first := cronRun(day(12, 1, 0))
	n.until(p, 60*time.Second, "the 12:01 run to run", func() bool {
		st := n.observe()
		pod := st.Pod("default/" + first)
		return pod != nil && pod.Phase == nodes.PhaseRunning
	})
	for _, now := range []time.Time{day(12, 2, 0), day(12, 2, 30), day(12, 3, 0)} {
		clock.Set(now)
		for range 3 {
			n.pass(p)
		}
		want := []string{first + ":Running"}
		if got := phases(n.observe()); !slices.Equal(got, want) {
			t.Fatalf("%s: pods %v, want %v (Forbid skips while the 12:01 run is active)", now.Format("15:04:05"), got, want)
		}
		if w := status(); w.ActiveRuns != 1 || !w.NextRun.Equal(now.Truncate(time.Minute).Add(time.Minute)) {
			t.Fatalf("%s: status %+v", now.Format("15:04:05"), w)
		}
	}
	// The skips were for the active run, not for good: once it ends
	// (stopped here, as if it crashed, instead of waiting 90 s), the next
	// schedule starts a run.
	mark := time.Now()
	if err := n.rt.StopPod(context.Background(), "default/"+first, time.Time{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped the 12:01 run in %s", time.Since(mark).Round(time.Millisecond))
	clock.Set(day(12, 3, 30))
	n.until(p, 30*time.Second, "the 12:01 run to end", func() bool { return status().ActiveRuns == 0 })
	t.Logf("the 12:01 run ended after %s: %v", time.Since(mark).Round(time.Millisecond), phases(n.observe()))
	if got := phases(n.observe()); len(got) != 1 {
		t.Fatalf("12:03:30: pods %v, want only the ended 12:01 run", got)
	}
	clock.Set(day(12, 4, 0))
	next := cronRun(day(12, 4, 0))
	n.until(p, 60*time.Second, "the 12:04 run to run", func() bool {
		st := n.observe()
		pod := st.Pod("default/" + next)
		return pod != nil && pod.Phase == nodes.PhaseRunning
	})
	t.Logf("the 12:04 run runs after %s", time.Since(mark).Round(time.Millisecond))
	if w := status(); w.ActiveRuns != 1 || !w.LastSchedule.Equal(day(12, 4, 0)) {
		t.Fatalf("12:04: status %+v", w)
	}
}
