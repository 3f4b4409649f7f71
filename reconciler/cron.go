package reconciler

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"berth.dev/berth/compiler/plan"
)

// ParseSchedule parses a CronJob schedule (standard five fields or a
// descriptor such as @hourly) in its time zone (empty: the node's local
// time, as Kubernetes uses the controller's).
func ParseSchedule(spec, timeZone string) (cron.Schedule, error) {
	if timeZone != "" {
		if _, err := time.LoadLocation(timeZone); err != nil {
			return nil, fmt.Errorf("timeZone %q: %w (use an IANA name such as Europe/Paris)", timeZone, err)
		}
		spec = "CRON_TZ=" + timeZone + " " + spec
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

// mostRecent is the latest schedule time in (since, now], or zero.
// Like Kubernetes, only the most recent missed run matters.
func mostRecent(s cron.Schedule, since, now time.Time) time.Time {
	var last time.Time
	for t, i := s.Next(since), 0; !t.IsZero() && !t.After(now) && i < 1_000_000; t, i = s.Next(t), i+1 {
		last = t
	}
	return last
}

// runName is <cronjob>-<scheduled time in Unix minutes>, as Kubernetes names them.
func runName(w *plan.Workload, t time.Time) string {
	return fmt.Sprintf("%s-%d", w.Name, t.Unix()/60)
}

// cron drives a CronJob: steps its runs, trims history, and starts the
// run that is due.
func (v *view) cron(w *plan.Workload, progress State) {
	key := w.Key()
	cs, had := progress.Crons[key]
	if w.Template == nil || w.CronJob == nil || !v.local(w) {
		v.dropPods(key, "cronjob runs on another node")
		return
	}
	before := cs
	cs.Runs = append([]JobRun(nil), cs.Runs...)
	for i := range cs.Runs {
		cs.Runs[i] = cs.Runs[i].clone()
	}
	if !had {
		cs.Created = v.now
	}
	spec := w.CronJob
	for i := range cs.Runs {
		v.stepRun(w, &spec.Job, &cs.Runs[i], key)
	}
	if s, err := ParseSchedule(spec.Schedule, spec.TimeZone); err == nil && !spec.Suspend {
		since := cs.Created
		if cs.LastSchedule.After(since) {
			since = cs.LastSchedule
		}
		if d := spec.StartingDeadlineSeconds; d != nil {
			// Runs older than the deadline cannot start anyway.
			if early := v.now.Add(-time.Duration(*d)*time.Second - time.Second); early.After(since) {
				since = early
			}
		}
		t := mostRecent(s, since, v.now)
		late := spec.StartingDeadlineSeconds != nil && v.now.Sub(t) > time.Duration(*spec.StartingDeadlineSeconds)*time.Second
		if !t.IsZero() && !late {
			v.startCronRun(w, &cs, t, key)
		}
	}
	v.trimHistory(w, &cs, key)
	for i := range cs.Runs {
		v.markRunPods(w.Namespace, &cs.Runs[i])
	}
	if !had || !sameJSON(before, cs) {
		v.record(bucketCrons, key, cs, "cronjob history")
	}
}

func (v *view) startCronRun(w *plan.Workload, cs *CronRuns, t time.Time, key string) {
	spec := w.CronJob
	var active []int
	for i, r := range cs.Runs {
		if r.Phase == JobRunning {
			active = append(active, i)
		}
	}
	if len(active) > 0 {
		switch spec.ConcurrencyPolicy {
		case "Forbid":
			// Not recorded as scheduled: if the active run ends within
			// startingDeadlineSeconds, this run still starts late.
			return
		case "Replace":
			for _, i := range active {
				r := &cs.Runs[i]
				for j := range r.Pods {
					if r.Pods[j].Result == "" {
						r.Pods[j].Result = "Stopped"
					}
				}
				r.Phase, r.Reason, r.Finished = JobFailed, "Replaced", v.now
				v.cleanRun(w.Namespace, r, key, "concurrencyPolicy Replace")
			}
		}
	}
	run := JobRun{Name: runName(w, t), Revision: w.Revision, Phase: JobRunning, Scheduled: t, Started: v.now}
	for _, r := range cs.Runs {
		if r.Name == run.Name {
			return // already started (the record landed before a crash)
		}
	}
	cs.LastSchedule = t
	v.stepRun(w, &spec.Job, &run, key)
	cs.Runs = append(cs.Runs, run)
	sortRuns(cs.Runs)
}

// trimHistory removes the pods and records of finished runs beyond the
// successful and failed history limits, oldest first.
func (v *view) trimHistory(w *plan.Workload, cs *CronRuns, key string) {
	spec := w.CronJob
	okLeft, failLeft := spec.SuccessfulJobsHistoryLimit, spec.FailedJobsHistoryLimit
	keep := make([]bool, len(cs.Runs))
	for i := len(cs.Runs) - 1; i >= 0; i-- {
		r := &cs.Runs[i]
		switch {
		case !r.finished():
			keep[i] = true
		case r.Phase == JobComplete && okLeft > 0:
			okLeft--
			keep[i] = true
		case r.Phase == JobFailed && r.Reason != "Replaced" && failLeft > 0:
			failLeft--
			keep[i] = true
		}
	}
	var runs []JobRun
	for i, r := range cs.Runs {
		if keep[i] {
			runs = append(runs, r)
			continue
		}
		if !r.Cleaned {
			v.cleanRun(w.Namespace, &r, key, "cronjob history limit")
		}
	}
	cs.Runs = runs
}
