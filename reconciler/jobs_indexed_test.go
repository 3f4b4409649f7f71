package reconciler

import (
	"slices"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/store"
)

// indexed returns the pods of the Job "batch" (the fake runtime's specs) by
// completion index, running ones only when live is set.
func (e *env) indexed(live bool) map[string]*plan.Pod {
	e.t.Helper()
	out := map[string]*plan.Pod{}
	for _, k := range e.rt.Keys() {
		st, _ := e.rt.Pod(k)
		if !strings.HasPrefix(st.Name, "batch-") || live && st.IP == "" {
			continue
		}
		p := e.rt.Spec(k)
		out[p.Labels[CompletionIndexKey]] = p
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := mapKeys(m)
	slices.Sort(out)
	return out
}

// exitIndex ends the running pod of an index with code.
func (e *env) exitIndex(index string, code int) {
	e.t.Helper()
	p := e.indexed(true)[index]
	if p == nil {
		e.t.Fatalf("no running pod of index %s (running: %v)", index, keys(e.indexed(true)))
	}
	e.rt.Exit(p.Key(), code)
}

func TestIndexedJob(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 3, Parallelism: 2, BackoffLimit: 6, Indexed: true})
	e.pass(p)
	got := e.indexed(true)
	if strings.Join(keys(got), ",") != "0,1" {
		t.Fatalf("running indexes %v, want 0,1", keys(got))
	}
	for _, i := range []string{"0", "1"} {
		pod := got[i]
		env := map[string]string{}
		for _, v := range pod.Spec.Containers[0].Env {
			env[v.Name] = v.Value.Data
		}
		if pod.Spec.Hostname != "batch-"+i || pod.Hostname() != "batch-"+i || env[CompletionIndexEnv] != i ||
			pod.Annotations[CompletionIndexKey] != i || !strings.HasPrefix(pod.Name, "batch-"+i+"-") || len(pod.Name) != len("batch-"+i+"-")+5 {
			t.Errorf("index %s: name %s, hostname %q, env %v, annotations %v", i, pod.Name, pod.Spec.Hostname, env, pod.Annotations)
		}
	}
	// The template is shared: instantiating must not change it.
	if len(p.Workloads[0].Template.Spec.Containers[0].Env) != 0 || p.Workloads[0].Template.Annotations != nil {
		t.Errorf("the template changed: %+v", p.Workloads[0].Template)
	}
	e.exitIndex("1", 0)
	e.pass(p)
	if got := keys(e.indexed(true)); strings.Join(got, ",") != "0,2" {
		t.Fatalf("after index 1 succeeded: running %v, want 0,2", got)
	}
	e.exitIndex("2", 0)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobRunning || j.CompletedIndexes != "1-2" {
		t.Fatalf("job = %+v", j)
	}
	e.exitIndex("0", 0)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobComplete || j.CompletedIndexes != "0-2" || j.Succeeded != 3 {
		t.Fatalf("job = %+v", j)
	}
}

// A failed index is retried by itself, up to backoffLimitPerIndex; the
// others go on, and the Job fails at the end for its failed indexes.
func TestBackoffLimitPerIndex(t *testing.T) {
	e := newEnv(t)
	one := int32(1)
	p := jobPlan("abcdef", plan.Job{Completions: 3, Parallelism: 3, BackoffLimit: 1 << 30, Indexed: true, BackoffLimitPerIndex: &one})
	e.pass(p)
	e.exitIndex("1", 3)
	e.exitIndex("0", 0)
	e.pass(p)
	e.clock.Advance(time.Minute)
	e.pass(p)
	if got := keys(e.indexed(true)); strings.Join(got, ",") != "1,2" {
		t.Fatalf("running %v, want 1 (retried) and 2", got)
	}
	e.exitIndex("1", 3)
	e.pass(p)
	e.clock.Advance(time.Minute)
	e.pass(p)
	j := e.job("Job/default/batch")
	if j.FailedIndexes != "1" || j.Phase != JobRunning || j.IndexFailures["1"] != 2 {
		t.Fatalf("job = %+v", j)
	}
	if got := keys(e.indexed(true)); strings.Join(got, ",") != "2" {
		t.Fatalf("running %v: a failed index must not run again", got)
	}
	e.exitIndex("2", 0)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobFailed || j.Reason != "FailedIndexes" || j.CompletedIndexes != "0,2" {
		t.Fatalf("job = %+v", j)
	}
}

func TestMaxFailedIndexes(t *testing.T) {
	e := newEnv(t)
	zero := int32(0)
	p := jobPlan("abcdef", plan.Job{Completions: 4, Parallelism: 2, BackoffLimit: 1 << 30, Indexed: true, BackoffLimitPerIndex: &zero, MaxFailedIndexes: &zero})
	e.pass(p)
	e.exitIndex("0", 1)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobFailed || j.Reason != "MaxFailedIndexesExceeded" {
		t.Fatalf("job = %+v", j)
	}
	if l := e.live("batch-"); len(l) != 0 {
		t.Fatalf("pods still running: %v", l)
	}
}

// A FailJob rule fails the Job at the first matching exit code, whatever
// the back-off limit, and says which rule; Ignore leaves a failure out
// of the count.
func TestPodFailurePolicyExitCodes(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 2, Parallelism: 2, BackoffLimit: 0, PodFailurePolicy: []plan.PodFailureRule{
		{Action: plan.ActionIgnore, OnExitCodes: &plan.ExitCodeRule{Operator: "In", Values: []int32{3}}},
		{Action: plan.ActionFailJob, OnExitCodes: &plan.ExitCodeRule{Container: "app", Operator: "In", Values: []int32{42}}},
	}})
	e.pass(p)
	e.rt.Exit("default/batch-abcde-0", 3)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobRunning || j.Failed != 0 || j.Ignored != 1 {
		t.Fatalf("after an ignored failure: %+v", j)
	}
	e.pass(p)
	e.want("batch-", "batch-abcde-0", "batch-abcde-1", "batch-abcde-2")
	e.rt.Exit("default/batch-abcde-2", 42)
	e.pass(p)
	j := e.job("Job/default/batch")
	want := "Container app for pod default/batch-abcde-2 failed with exit code 42 matching FailJob rule at index 1"
	if j.Phase != JobFailed || j.Reason != "PodFailurePolicy" || j.Message != want || j.Failed != 1 {
		t.Fatalf("job = %+v, want failed by the policy: %s", j, want)
	}
	if l := e.live("batch-"); len(l) != 0 {
		t.Fatalf("pods still running: %v", l)
	}
	if ws := e.rec.Status().Workloads[0]; ws.Message != "PodFailurePolicy: "+want {
		t.Errorf("status message %q", ws.Message)
	}
}

// A pod that vanished has the DisruptionTarget condition: a rule on it
// can ignore it; NotIn matches the other non-zero codes; Count counts.
func TestPodFailurePolicyConditions(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 1, BackoffLimit: 1, PodFailurePolicy: []plan.PodFailureRule{
		{Action: plan.ActionIgnore, OnPodConditions: []plan.PodCondition{{Type: "DisruptionTarget", Status: "True"}}},
		{Action: plan.ActionFailJob, OnExitCodes: &plan.ExitCodeRule{Operator: "NotIn", Values: []int32{1, 2}}},
		{Action: plan.ActionCount, OnExitCodes: &plan.ExitCodeRule{Operator: "In", Values: []int32{1}}},
	}})
	e.pass(p)
	e.pass(p)
	e.rt.Delete("default/batch-abcde-0")
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Failed != 0 || j.Ignored != 1 {
		t.Fatalf("a disrupted pod counted: %+v", j)
	}
	e.pass(p)
	e.rt.Exit("default/batch-abcde-1", 1)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Failed != 1 || j.Phase != JobRunning {
		t.Fatalf("exit 1 (Count): %+v", j)
	}
	e.clock.Advance(time.Minute)
	e.pass(p)
	e.rt.Exit("default/batch-abcde-2", 7)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobFailed || j.Reason != "PodFailurePolicy" || !strings.Contains(j.Message, "exit code 7 matching FailJob rule at index 1") {
		t.Fatalf("exit 7 (NotIn 1, 2): %+v", j)
	}
}

func TestFailIndex(t *testing.T) {
	e := newEnv(t)
	five := int32(5)
	p := jobPlan("abcdef", plan.Job{Completions: 2, Parallelism: 2, BackoffLimit: 1 << 30, Indexed: true, BackoffLimitPerIndex: &five,
		PodFailurePolicy: []plan.PodFailureRule{{Action: plan.ActionFailIndex, OnExitCodes: &plan.ExitCodeRule{Operator: "In", Values: []int32{9}}}}})
	e.pass(p)
	e.exitIndex("1", 9)
	e.exitIndex("0", 0)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobFailed || j.Reason != "FailedIndexes" || j.FailedIndexes != "1" {
		t.Fatalf("job = %+v", j)
	}
}

func TestSuccessPolicy(t *testing.T) {
	e := newEnv(t)
	one := int32(1)
	p := jobPlan("abcdef", plan.Job{Completions: 4, Parallelism: 4, BackoffLimit: 6, Indexed: true,
		SuccessPolicy: []plan.SuccessRule{{Indexes: []plan.IndexRange{{From: 0, To: 1}}, Count: &one}}})
	e.pass(p)
	e.exitIndex("3", 0)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobRunning {
		t.Fatalf("index 3 is not in the rule: %+v", j)
	}
	e.exitIndex("1", 0)
	e.pass(p)
	j := e.job("Job/default/batch")
	if j.Phase != JobComplete || j.Reason != "SuccessPolicy" || j.Message != "Matched rules at index 0" {
		t.Fatalf("job = %+v", j)
	}
	if l := e.live("batch-"); len(l) != 0 {
		t.Fatalf("the indexes left still run: %v", l)
	}
}

// suspend stops the pods, counting none as failed, and starts none; when
// it is cleared, the Job goes on and its deadline counts from then.
func TestSuspendJob(t *testing.T) {
	e := newEnv(t)
	spec := plan.Job{Completions: 2, Parallelism: 1, BackoffLimit: 0, ActiveDeadlineSeconds: 60, Suspend: true}
	e.pass(jobPlan("abcdef", spec))
	e.want("batch-")
	spec.Suspend = false
	e.clock.Advance(time.Hour)
	e.pass(jobPlan("abcdef", spec))
	e.want("batch-", "batch-abcde-0")
	spec.Suspend = true
	e.pass(jobPlan("abcdef", spec))
	j := e.job("Job/default/batch")
	if !j.Suspended || j.Failed != 0 || j.Phase != JobRunning || len(e.live("batch-")) != 0 {
		t.Fatalf("suspended: %+v, live %v", j, e.live("batch-"))
	}
	if ws := e.rec.Status().Workloads[0]; !ws.Suspended {
		t.Errorf("status does not say suspended: %+v", ws)
	}
	e.clock.Advance(time.Hour)
	spec.Suspend = false
	e.pass(jobPlan("abcdef", spec))
	if got := e.live("batch-"); len(got) != 1 || got[0] != "batch-abcde-1" {
		t.Fatalf("resumed: running %v", got)
	}
	e.clock.Advance(59 * time.Second)
	e.pass(jobPlan("abcdef", spec))
	if j := e.job("Job/default/batch"); j.Phase != JobRunning {
		t.Fatalf("the deadline counted the suspension: %+v", j)
	}
}

// Without completions and with a parallelism, a Job is a work queue:
// every pod runs until one succeeds; then none starts, and the Job is
// complete when the others have ended.
func TestWorkQueueJob(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 3, BackoffLimit: 6, WorkQueue: true})
	e.pass(p)
	e.want("batch-", "batch-abcde-0", "batch-abcde-1", "batch-abcde-2")
	e.rt.Exit("default/batch-abcde-1", 0)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobRunning || len(e.live("batch-")) != 2 {
		t.Fatalf("after the first success: %+v, live %v", j, e.live("batch-"))
	}
	e.rt.Exit("default/batch-abcde-0", 0)
	e.rt.Exit("default/batch-abcde-2", 0)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobComplete || j.Succeeded != 3 {
		t.Fatalf("job = %+v", j)
	}
	e.want("batch-", "batch-abcde-0", "batch-abcde-1", "batch-abcde-2")
}

// An Indexed Job's progress survives a restart: completed indexes do not
// run again, and a finished Job never runs again.
func TestIndexedJobResumes(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	var db *store.DB
	e.restart(dir, &db)
	defer func() { db.Close() }()
	p := jobPlan("abcdef", plan.Job{Completions: 3, Parallelism: 1, BackoffLimit: 6, Indexed: true})
	e.pass(p)
	e.exitIndex("0", 0)
	e.pass(p)
	e.restart(dir, &db)
	e.pass(p)
	if got := keys(e.indexed(true)); strings.Join(got, ",") != "1" {
		t.Fatalf("after a restart: running %v, want 1", got)
	}
	e.exitIndex("1", 0)
	e.pass(p)
	e.exitIndex("2", 0)
	e.pass(p)
	e.restart(dir, &db)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobComplete || j.CompletedIndexes != "0-2" {
		t.Fatalf("job = %+v", j)
	}
	if n := len(e.indexed(false)); n != 3 {
		t.Errorf("%d pods, want 3 (one per index, none re-run)", n)
	}
}

func TestIndexSet(t *testing.T) {
	var s indexSet
	for _, i := range []int32{5, 1, 3, 2, 0, 9, 4} {
		s.add(i)
	}
	if got := s.String(); got != "0-5,9" || s.count() != 7 || !s.has(4) || s.has(6) || s.end(2) != 5 {
		t.Errorf("set %s (count %d)", got, s.count())
	}
	if back := parseIndexes(s.String()); back.String() != "0-5,9" {
		t.Errorf("round trip %s", back)
	}
	if n := s.countIn([]plan.IndexRange{{From: 4, To: 9}}); n != 3 {
		t.Errorf("countIn = %d, want 3", n)
	}
}
