package reconciler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

func jobPlan(rev string, j plan.Job) *plan.Plan {
	tmpl := mkPod("Job", "batch", rev, 0)
	tmpl.Spec.RestartPolicy = "Never"
	w := plan.Workload{Kind: "Job", Namespace: "default", Name: "batch", Revision: rev, Job: &j, Template: &tmpl, Node: "n1"}
	return &plan.Plan{Revision: "r-" + rev, Nodes: []plan.NodePlan{{Node: plan.Node{Name: "n1"}}}, Workloads: []plan.Workload{w}}
}

func (e *env) job(key string) JobRun {
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	return e.rec.state.Jobs[key]
}

// running lists the pods with a live IP (not stopped) whose name starts with prefix.
func (e *env) live(prefix string) []string {
	var out []string
	for _, n := range e.rt.Names(prefix) {
		if p, _ := e.rt.Pod("default/" + n); p.IP != "" {
			out = append(out, n)
		}
	}
	return out
}

func TestJobCompletionsParallelismBackoff(t *testing.T) {
	e := newEnv(t)
	ttl := int32(300)
	p := jobPlan("abcdef", plan.Job{Completions: 5, Parallelism: 2, BackoffLimit: 3, TTLSecondsAfterFinished: &ttl})
	pod := func(n int) string { return fmt.Sprintf("default/batch-abcde-%d", n) }
	e.pass(p)
	e.want("batch-", "batch-abcde-0", "batch-abcde-1")
	e.rt.Exit(pod(0), 0)
	e.rt.Exit(pod(1), 1)
	e.pass(p)
	// One success, one failure: both stopped (kept), a 10s back-off before any new pod.
	e.want("batch-", "batch-abcde-0", "batch-abcde-1")
	if l := e.live("batch-"); len(l) != 0 {
		t.Fatalf("finished pods still hold resources: %v", l)
	}
	e.clock.Advance(9 * time.Second)
	e.pass(p)
	e.want("batch-", "batch-abcde-0", "batch-abcde-1")
	e.clock.Advance(time.Second)
	e.pass(p)
	e.want("batch-", "batch-abcde-0", "batch-abcde-1", "batch-abcde-2", "batch-abcde-3")
	e.rt.Exit(pod(2), 0)
	e.rt.Exit(pod(3), 0)
	e.pass(p)
	if got := e.live("batch-"); strings.Join(got, ",") != "batch-abcde-4,batch-abcde-5" {
		t.Fatalf("running %v", got)
	}
	e.rt.Exit(pod(4), 0)
	e.pass(p)
	if got := e.live("batch-"); strings.Join(got, ",") != "batch-abcde-5" {
		t.Fatalf("parallelism exceeded the remaining completions: %v", got)
	}
	e.rt.Exit(pod(5), 0)
	e.pass(p)
	j := e.job("Job/default/batch")
	if j.Phase != JobComplete || j.Succeeded != 5 || j.Failed != 1 {
		t.Fatalf("job = %+v", j)
	}
	if st, _ := e.rt.Pod(pod(5)); st.Phase != nodes.PhaseSucceeded || st.IP != "" {
		t.Fatalf("finished pod %+v: want kept with its status, stopped", st)
	}
	// An unrelated commit does not run it again.
	p.Revision = "r-other"
	e.pass(p)
	if n := len(e.rt.Names("batch-")); n != 6 {
		t.Fatalf("%d pods after an unrelated commit, want 6", n)
	}
	e.clock.Advance(300 * time.Second)
	e.pass(p)
	e.want("batch-") // TTL: gone
	e.pass(p)
	e.want("batch-") // and never again
	// A new template runs the new version.
	e.pass(jobPlan("fedcba", plan.Job{Completions: 1, Parallelism: 1}))
	e.want("batch-", "batch-fedcb-0")
}

func TestJobBackoffLimit(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 1, BackoffLimit: 1})
	e.pass(p)
	e.rt.Exit("default/batch-abcde-0", 2)
	e.pass(p)
	e.clock.Advance(10 * time.Second)
	e.pass(p)
	e.rt.Exit("default/batch-abcde-1", 2)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobFailed || j.Reason != "BackoffLimitExceeded" {
		t.Fatalf("job = %+v", j)
	}
	e.clock.Advance(time.Hour)
	e.pass(p)
	e.want("batch-", "batch-abcde-0", "batch-abcde-1")
}

func TestJobActiveDeadline(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 1, ActiveDeadlineSeconds: 30})
	e.pass(p)
	e.clock.Advance(30 * time.Second)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobFailed || j.Reason != "DeadlineExceeded" {
		t.Fatalf("job = %+v", j)
	}
	if l := e.live("batch-"); len(l) != 0 {
		t.Fatalf("still running after the deadline: %v", l)
	}
}

func TestJobPodLostCountsAsFailure(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 1, BackoffLimit: 2})
	e.pass(p)
	e.pass(p) // observed once
	e.rt.Delete("default/batch-abcde-0")
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Failed != 1 {
		t.Fatalf("job = %+v", j)
	}
	e.clock.Advance(10 * time.Second)
	e.pass(p)
	e.want("batch-", "batch-abcde-1")
}

func TestJobOnFailureRestartsCount(t *testing.T) {
	e := newEnv(t)
	p := jobPlan("abcdef", plan.Job{Completions: 1, Parallelism: 1, BackoffLimit: 2})
	p.Workloads[0].Template.Spec.RestartPolicy = "OnFailure"
	e.pass(p)
	e.rt.Crash("default/batch-abcde-0", 2)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobRunning {
		t.Fatalf("job = %+v", j)
	}
	e.rt.Crash("default/batch-abcde-0", 1)
	e.pass(p)
	if j := e.job("Job/default/batch"); j.Phase != JobFailed || j.Reason != "BackoffLimitExceeded" {
		t.Fatalf("job = %+v, want failed after 3 restarts", j)
	}
}
