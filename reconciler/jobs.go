package reconciler

import (
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// local says whether a Job or CronJob runs on this node.
func (v *view) local(w *plan.Workload) bool { return w.Node == "" || w.Node == v.d.Node }

// job drives a Job: one run per template revision, never again once
// finished.
func (v *view) job(w *plan.Workload, progress State) {
	key := w.Key()
	run, had := progress.Jobs[key]
	if w.Template == nil || w.Job == nil || !v.local(w) {
		v.dropPods(key, "job runs on another node")
		return
	}
	before := run
	before.Pods = append([]JobPod(nil), run.Pods...)
	if !had || run.Revision != w.Revision {
		if had {
			// The template changed: the old run's pods go, the new version runs.
			v.cleanRun(w.Namespace, &run, key, "job template changed")
		}
		run = JobRun{Name: w.Name, Revision: w.Revision, Phase: JobRunning, Started: v.now}
	} else {
		run.Pods = append([]JobPod(nil), run.Pods...)
	}
	v.stepRun(w, w.Job, &run, key)
	v.markRunPods(w.Namespace, &run)
	if !had || !sameJSON(before, run) {
		v.record(bucketJobs, key, run, "job "+run.Phase)
	}
}

// dropPods removes every observed pod of a workload.
func (v *view) dropPods(key, reason string) {
	for _, o := range v.byOwner[key] {
		v.remove(o, key, reason)
	}
}

func (v *view) markRunPods(ns string, run *JobRun) {
	for _, p := range run.Pods {
		k := podKey(ns, p.Name)
		if v.obs[k] != nil {
			v.handled[k] = true
		}
	}
}

func podKey(ns, name string) string { return ns + "/" + name }

// cleanRun removes every pod of a run still on the node.
func (v *view) cleanRun(ns string, run *JobRun, object, reason string) {
	for _, p := range run.Pods {
		if o := v.obs[podKey(ns, p.Name)]; o != nil {
			v.remove(o, object, reason)
		}
	}
	run.Cleaned = true
}

// jobPod instantiates the template as pod n of a run: <run>-<hash5>-<n>.
func jobPod(w *plan.Workload, run *JobRun, n int) *plan.Pod {
	p := *w.Template
	h := run.Revision
	if h == "" {
		h = p.Hash
	}
	if len(h) > 5 {
		h = h[:5]
	}
	p.Name = fmt.Sprintf("%s-%s-%d", run.Name, h, n)
	p.Namespace = w.Namespace
	p.Owner = plan.Owner{Kind: w.Kind, Name: w.Name}
	p.Revision = run.Revision
	p.Labels = maps.Clone(p.Labels)
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels["job-name"] = run.Name
	return &p
}

// stepRun advances one run: count finished pods, stop them, fail on the
// back-off limit or the deadline, start pods up to parallelism, clean up
// after the TTL.
func (v *view) stepRun(w *plan.Workload, spec *plan.Job, run *JobRun, object string) {
	completions, parallelism := max(spec.Completions, 1), max(spec.Parallelism, 1)
	for i := range run.Pods {
		p := &run.Pods[i]
		o := v.obs[podKey(w.Namespace, p.Name)]
		if p.Result == "" {
			switch {
			case o == nil && p.Seen:
				p.Result = nodes.PhaseFailed
				run.Failed++
				run.BackoffUntil = v.now.Add(v.d.JobBackoff.After(int(run.Failed)))
			case o == nil:
				if !run.finished() {
					v.create(jobPod(w, run, podIndex(p.Name)), object, "job pod recorded but not running: create")
				}
			default:
				p.Seen = true
				switch o.Phase {
				case nodes.PhaseSucceeded:
					p.Result = nodes.PhaseSucceeded
					run.Succeeded++
				case nodes.PhaseFailed:
					p.Result = nodes.PhaseFailed
					run.Failed++
					run.BackoffUntil = v.now.Add(v.d.JobBackoff.After(int(run.Failed)))
				}
				// Stopped once, in the pass that records the result: the
				// runtime cannot tell a stopped pod from a finished one.
				if p.Result != "" {
					v.stop(o, object, "job pod "+p.Result+": release its resources, keep status and logs")
				}
			}
		}
	}
	if run.Phase == JobRunning {
		// With restartPolicy OnFailure the runtime restarts failed
		// containers in place; like Kubernetes, those restarts count
		// against the back-off limit.
		restarts := int32(0)
		for _, p := range run.Pods {
			if o := v.obs[podKey(w.Namespace, p.Name)]; o != nil && p.Result == "" && w.Template.Spec.RestartPolicy == "OnFailure" {
				restarts += int32(o.Restarts())
			}
		}
		reason := ""
		switch {
		case run.Succeeded >= completions:
			run.Phase = JobComplete
		case run.Failed+restarts > spec.BackoffLimit:
			run.Phase, reason = JobFailed, "BackoffLimitExceeded"
		case spec.ActiveDeadlineSeconds > 0 && !v.now.Before(run.Started.Add(time.Duration(spec.ActiveDeadlineSeconds)*time.Second)):
			run.Phase, reason = JobFailed, "DeadlineExceeded"
		}
		if run.finished() {
			run.Reason, run.Finished = reason, v.now
			v.stopActive(w.Namespace, run, object, "job "+run.Phase)
		}
	}
	if run.Phase == JobRunning && !v.now.Before(run.BackoffUntil) {
		active := int32(run.active())
		want := min(parallelism-active, completions-run.Succeeded-active)
		for range max(want, 0) {
			p := jobPod(w, run, run.Next)
			run.Pods = append(run.Pods, JobPod{Name: p.Name})
			run.Next++
			v.create(p, object, fmt.Sprintf("job: %d of %d completions", run.Succeeded, completions))
		}
	}
	if run.finished() && !run.Cleaned && (spec.TTLSecondsAfterFinished != nil &&
		!v.now.Before(run.Finished.Add(time.Duration(*spec.TTLSecondsAfterFinished)*time.Second)) || hookDeletes(w, run)) {
		v.cleanRun(w.Namespace, run, object, "ttlSecondsAfterFinished")
	}
}

// stopActive stops the pods of a run that still run (the run finished).
func (v *view) stopActive(ns string, run *JobRun, object, reason string) {
	for i := range run.Pods {
		p := &run.Pods[i]
		if p.Result != "" {
			continue
		}
		p.Result = "Stopped"
		if o := v.obs[podKey(ns, p.Name)]; o != nil {
			v.stop(o, object, reason)
		}
	}
}

// podIndex is the n of <run>-<hash5>-<n>.
func podIndex(name string) int {
	n, _ := strconv.Atoi(name[strings.LastIndexByte(name, '-')+1:])
	return n
}

// sortRuns orders runs by schedule time.
func sortRuns(runs []JobRun) {
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Scheduled.Before(runs[j].Scheduled) })
}
