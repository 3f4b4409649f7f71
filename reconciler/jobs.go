package reconciler

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/compiler/object"
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
	before := run.clone()
	if !had || run.Revision != w.Revision {
		if had {
			// The template changed: the old run's pods go, the new version runs.
			v.cleanRun(w.Namespace, &run, key, "job template changed")
		}
		run = JobRun{Name: w.Name, Revision: w.Revision, Phase: JobRunning, Started: v.now}
	} else {
		run = run.clone()
	}
	v.stepRun(w, w.Job, &run, key)
	v.markRunPods(w.Namespace, &run)
	if !had || !sameJSON(before, run) {
		v.record(bucketJobs, key, run, "job "+run.Phase)
	}
}

// clone copies what a pass may change, so that the recorded run stays
// the one before the pass.
func (j JobRun) clone() JobRun {
	j.Pods = slices.Clone(j.Pods)
	j.IndexFailures = maps.Clone(j.IndexFailures)
	return j
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

// The label and annotation of an Indexed Job's pods, and the variable
// that tells its containers their index.
const (
	CompletionIndexKey = "batch.kubernetes.io/job-completion-index"
	CompletionIndexEnv = "JOB_COMPLETION_INDEX"
)

// maxPodNamePrefix is Kubernetes' MaxGeneratedNameLength: a pod name is a
// prefix of at most 58 characters and 5 more.
const maxPodNamePrefix = 58

// jobPod instantiates the template as pod n of a run: <run>-<hash5>-<n>;
// for index i of an Indexed Job <run>-<i>-<5 characters>, as the Job
// controller names it (podGenerateNameWithIndex), with the index in its
// label, annotation, environment and host name <run>-<i>.
func jobPod(w *plan.Workload, run *JobRun, n int, index *int32) *plan.Pod {
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
	if index != nil {
		i := strconv.Itoa(int(*index))
		prefix := run.Name + "-" + i + "-"
		if len(prefix) > maxPodNamePrefix {
			prefix = run.Name[:maxPodNamePrefix-len(i)-2] + "-" + i + "-"
		}
		sum := sha256.Sum256([]byte(run.Revision + "/" + i + "/" + strconv.Itoa(n)))
		p.Name = prefix + object.SafeEncode(sum[:], 5)
		p.Spec.Hostname = run.Name + "-" + i
		p.Labels[CompletionIndexKey] = i
		p.Annotations = maps.Clone(p.Annotations)
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[CompletionIndexKey] = i
		p.Spec.InitContainers = withIndexEnv(p.Spec.InitContainers, i)
		p.Spec.Containers = withIndexEnv(p.Spec.Containers, i)
	}
	return &p
}

// withIndexEnv gives each container JOB_COMPLETION_INDEX, unless it sets
// the variable itself (addCompletionIndexEnvVariables).
func withIndexEnv(cs []plan.Container, index string) []plan.Container {
	out := slices.Clone(cs)
	for i := range out {
		if slices.ContainsFunc(out[i].Env, func(e plan.EnvVar) bool { return e.Name == CompletionIndexEnv }) {
			continue
		}
		out[i].Env = append(slices.Clone(out[i].Env), plan.EnvVar{Name: CompletionIndexEnv, Value: plan.Plain(index)})
	}
	return out
}

// runState is what one pass learns of a run: its index sets, the
// indexes its running pods hold, and the message of a FailJob rule that
// matched.
type runState struct {
	completed, failed indexSet
	active            map[int32]bool
	failJob           string
}

// stepRun advances one run: collect the results of its pods, decide
// whether it is complete or failed, suspend or resume it, start pods up
// to parallelism, clean up after the TTL.
func (v *view) stepRun(w *plan.Workload, spec *plan.Job, run *JobRun, object string) {
	rs := runState{completed: parseIndexes(run.CompletedIndexes), failed: parseIndexes(run.FailedIndexes)}
	v.collect(w, spec, run, &rs, object)
	if run.Phase == JobRunning {
		v.decide(w, spec, run, &rs, object)
	}
	if run.Phase == JobRunning {
		v.suspend(w, spec, run, object)
	}
	if run.Phase == JobRunning && !run.Suspended && !v.now.Before(run.BackoffUntil) {
		v.startPods(w, spec, run, &rs, object)
	}
	run.CompletedIndexes, run.FailedIndexes = rs.completed.String(), rs.failed.String()
	if run.finished() && !run.Cleaned && (spec.TTLSecondsAfterFinished != nil &&
		!v.now.Before(run.Finished.Add(time.Duration(*spec.TTLSecondsAfterFinished)*time.Second)) || hookDeletes(w, run)) {
		v.cleanRun(w.Namespace, run, object, "ttlSecondsAfterFinished")
	}
}

// collect records the result of each pod of the run that ended, and
// stops it (the runtime cannot tell a stopped pod from a finished one,
// so it is stopped once, in the pass that records the result).
func (v *view) collect(w *plan.Workload, spec *plan.Job, run *JobRun, rs *runState, object string) {
	rs.active = map[int32]bool{}
	for i := range run.Pods {
		p := &run.Pods[i]
		if p.Result != "" {
			continue
		}
		key := podKey(w.Namespace, p.Name)
		o := v.obs[key]
		switch {
		case o == nil && p.Seen:
			v.failed(spec, run, rs, p, nil, key)
		case o == nil:
			if !run.finished() && !run.Suspended {
				v.create(jobPod(w, run, p.number(), p.Index), object, "job pod recorded but not running: create")
			}
		default:
			p.Seen = true
			switch o.Phase {
			case nodes.PhaseSucceeded:
				p.Result = nodes.PhaseSucceeded
				run.Succeeded++
				if p.Index != nil && !rs.failed.has(*p.Index) {
					rs.completed.add(*p.Index)
				}
			case nodes.PhaseFailed:
				v.failed(spec, run, rs, p, o, key)
			}
			if p.Result != "" {
				v.stop(o, object, "job pod "+p.Result+": release its resources, keep status and logs")
			}
		}
		if p.Result == "" && p.Index != nil {
			rs.active[*p.Index] = true
		}
	}
}

// failed records a failed pod (o is nil when it vanished) as the pod
// failure policy says: FailJob fails the run, Ignore does not count it,
// FailIndex fails its index, Count (and no matching rule) counts it
// against backoffLimit and, per index, backoffLimitPerIndex.
func (v *view) failed(spec *plan.Job, run *JobRun, rs *runState, p *JobPod, o *nodes.PodStatus, key string) {
	p.Result = nodes.PhaseFailed
	action, why, _ := matchFailure(spec.PodFailurePolicy, o, key)
	if action == plan.ActionIgnore {
		p.Ignored = true
		run.Ignored++
		return
	}
	run.Failed++
	failures := run.Failed
	switch {
	case action == plan.ActionFailJob:
		if rs.failJob == "" {
			rs.failJob = why
		}
	case p.Index == nil:
	case action == plan.ActionFailIndex:
		rs.failed.add(*p.Index)
	case spec.BackoffLimitPerIndex != nil:
		if run.IndexFailures == nil {
			run.IndexFailures = map[string]int32{}
		}
		k := strconv.Itoa(int(*p.Index))
		run.IndexFailures[k]++
		failures = run.IndexFailures[k]
		if failures > *spec.BackoffLimitPerIndex {
			rs.failed.add(*p.Index)
		}
	}
	run.BackoffUntil = v.now.Add(v.d.JobBackoff.After(int(failures)))
}

// decide ends a running run, in the Job controller's order: a FailJob
// rule (already set), the back-off limit, the deadline, the failed
// indexes, the success policy, then completion.
func (v *view) decide(w *plan.Workload, spec *plan.Job, run *JobRun, rs *runState, object string) {
	// With restartPolicy OnFailure the runtime restarts failed containers
	// in place; like Kubernetes, those restarts count against the
	// back-off limit.
	restarts := int32(0)
	active := int32(0)
	for _, p := range run.Pods {
		if p.Result != "" {
			continue
		}
		active++
		if o := v.obs[podKey(w.Namespace, p.Name)]; o != nil && w.Template.Spec.RestartPolicy == "OnFailure" {
			restarts += int32(o.Restarts())
		}
	}
	completions := spec.Completions
	reason, message := "", ""
	switch {
	case rs.failJob != "":
		run.Phase, reason, message = JobFailed, "PodFailurePolicy", rs.failJob
	case run.Failed+restarts > spec.BackoffLimit:
		run.Phase, reason, message = JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"
	case spec.ActiveDeadlineSeconds > 0 && !run.Suspended && !v.now.Before(run.Started.Add(time.Duration(spec.ActiveDeadlineSeconds)*time.Second)):
		run.Phase, reason, message = JobFailed, "DeadlineExceeded", "Job was active longer than specified deadline"
	case spec.Indexed && spec.MaxFailedIndexes != nil && rs.failed.count() > *spec.MaxFailedIndexes:
		run.Phase, reason, message = JobFailed, "MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes"
	case spec.Indexed && rs.failed.count() > 0 && rs.completed.count()+rs.failed.count() >= completions && active == 0:
		run.Phase, reason, message = JobFailed, "FailedIndexes", "Job has failed indexes"
	case spec.Indexed:
		if why, ok := successMet(spec.SuccessPolicy, rs.completed); ok {
			run.Phase, reason, message = JobComplete, "SuccessPolicy", why
		} else if rs.completed.count() >= completions && active == 0 {
			run.Phase = JobComplete
		}
	case spec.WorkQueue:
		if run.Succeeded > 0 && active == 0 {
			run.Phase = JobComplete
		}
	case run.Succeeded >= max(completions, 1):
		run.Phase = JobComplete
	}
	if run.finished() {
		run.Reason, run.Message, run.Finished = reason, message, v.now
		v.stopActive(w.Namespace, run, object, "job "+run.Phase)
	}
}

// suspend stops the run's pods when spec.suspend is set, counting none
// as failed; when it is cleared, the run goes on, and its deadline
// counts from then (Kubernetes resets the start time).
func (v *view) suspend(w *plan.Workload, spec *plan.Job, run *JobRun, object string) {
	switch {
	case spec.Suspend && !run.Suspended:
		run.Suspended = true
		v.stopActive(w.Namespace, run, object, "job suspended")
	case !spec.Suspend && run.Suspended:
		run.Suspended, run.Started, run.BackoffUntil = false, v.now, time.Time{}
	}
}

// startPods starts pods up to parallelism: for an Indexed Job, the
// lowest indexes that neither succeeded, failed nor run; for a work
// queue, until a pod succeeded; else up to the completions left.
func (v *view) startPods(w *plan.Workload, spec *plan.Job, run *JobRun, rs *runState, object string) {
	active := int32(run.active())
	room := max(spec.Parallelism, 1) - active
	switch {
	case spec.Indexed:
		next := int32(0)
		for ; room > 0; room-- {
			if next = rs.pending(next, spec.Completions); next >= spec.Completions {
				return
			}
			v.startPod(w, run, &next, fmt.Sprintf("job: index %d of %d", next, spec.Completions), object)
			rs.active[next] = true
		}
	case spec.WorkQueue:
		if run.Succeeded > 0 {
			return
		}
		for ; room > 0; room-- {
			v.startPod(w, run, nil, fmt.Sprintf("job: work queue, %d pods", spec.Parallelism), object)
		}
	default:
		want := min(room, max(spec.Completions, 1)-run.Succeeded-active)
		for range max(want, 0) {
			v.startPod(w, run, nil, fmt.Sprintf("job: %d of %d completions", run.Succeeded, max(spec.Completions, 1)), object)
		}
	}
}

func (v *view) startPod(w *plan.Workload, run *JobRun, index *int32, reason, object string) {
	var idx *int32
	if index != nil {
		i := *index
		idx = &i
	}
	p := jobPod(w, run, run.Next, idx)
	run.Pods = append(run.Pods, JobPod{Name: p.Name, Index: idx, N: run.Next})
	run.Next++
	v.create(p, object, reason)
}

// pending is the first index from i on that neither succeeded, failed
// nor runs (n when there is none).
func (rs *runState) pending(i, n int32) int32 {
	for i < n {
		switch {
		case rs.completed.has(i):
			i = rs.completed.end(i) + 1
		case rs.failed.has(i):
			i = rs.failed.end(i) + 1
		case rs.active[i]:
			i++
		default:
			return i
		}
	}
	return n
}

// stopActive stops the pods of a run that still run (the run finished,
// or is suspended).
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

// number is the n of pod <run>-<hash5>-<n> or of an indexed pod.
func (p JobPod) number() int {
	if p.Index != nil {
		return p.N
	}
	n, _ := strconv.Atoi(p.Name[strings.LastIndexByte(p.Name, '-')+1:])
	return n
}

// sortRuns orders runs by schedule time.
func sortRuns(runs []JobRun) {
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Scheduled.Before(runs[j].Scheduled) })
}
