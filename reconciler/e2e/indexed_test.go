package e2e

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
)

// TestIndexedJobOnContainerd: an Indexed Job of 3 completions on the real
// runtime. Each pod prints what it is inside the container: its host
// name is <job>-<index>, JOB_COMPLETION_INDEX its index, /etc/hosts maps
// the host name; every index succeeds once and the Job completes.
func TestIndexedJobOnContainerd(t *testing.T) {
	n := newRealNode(t, realOpts{})
	p := batchPlan("Job", "shard", plan.Workload{Job: &plan.Job{Completions: 3, Parallelism: 3, BackoffLimit: 2, Indexed: true}},
		`echo "host=$(hostname) index=$JOB_COMPLETION_INDEX hosts=$(grep -c "[[:space:]]$(hostname)\$" /etc/hosts)"`)
	n.until(p, 90*time.Second, "the Indexed Job to complete", func() bool { return n.workload().Phase == reconciler.JobComplete })
	w := n.workload()
	if w.CompletedIndexes != "0-2" || w.Succeeded != 3 {
		t.Fatalf("job status %+v", w)
	}
	var got []string
	for _, pod := range n.observe().Pods {
		var out bytes.Buffer
		if err := n.rt.Logs(context.Background(), pod.Key(), "work", false, false, &out); err != nil {
			t.Fatalf("logs of %s: %v", pod.Name, err)
		}
		index := pod.Labels[reconciler.CompletionIndexKey]
		if !strings.HasPrefix(pod.Name, "shard-"+index+"-") || pod.Phase != nodes.PhaseSucceeded {
			t.Errorf("pod %s (index label %q) is %s", pod.Name, index, pod.Phase)
		}
		got = append(got, strings.TrimSpace(out.String()))
	}
	slices.Sort(got)
	want := []string{"host=shard-0 index=0 hosts=1", "host=shard-1 index=1 hosts=1", "host=shard-2 index=2 hosts=1"}
	if !slices.Equal(got, want) {
		t.Fatalf("inside the pods:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("inside the pods: %v", got)
}

// TestPodFailurePolicyOnContainerd: a container that exits with 42 fails
// the Job at once through a FailJob rule, though backoffLimit would retry
// it six times; the reason names the container, the pod and the code.
func TestPodFailurePolicyOnContainerd(t *testing.T) {
	n := newRealNode(t, realOpts{})
	p := batchPlan("Job", "migrate", plan.Workload{Job: &plan.Job{Completions: 1, Parallelism: 1, BackoffLimit: 6,
		PodFailurePolicy: []plan.PodFailureRule{
			{Action: plan.ActionIgnore, OnExitCodes: &plan.ExitCodeRule{Operator: "In", Values: []int32{3}}},
			{Action: plan.ActionFailJob, OnExitCodes: &plan.ExitCodeRule{Container: "work", Operator: "In", Values: []int32{42}}},
		}}}, "exit 42")
	start := time.Now()
	n.until(p, 60*time.Second, "the Job to fail", func() bool { return n.workload().Phase == reconciler.JobFailed })
	w := n.workload()
	want := fmt.Sprintf("PodFailurePolicy: Container work for pod default/%s failed with exit code 42 matching FailJob rule at index 1", "migrate-abcde-0")
	if w.Message != want || w.Failed != 1 {
		t.Fatalf("job status %+v, want message %q", w, want)
	}
	if got := phases(n.observe()); !slices.Equal(got, []string{"migrate-abcde-0:Failed"}) {
		t.Fatalf("pods %v: the Job must not retry", got)
	}
	t.Logf("failed by the policy after %s", time.Since(start).Round(time.Millisecond))
}
