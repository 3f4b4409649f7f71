package reconciler

import (
	"time"

	"berth.dev/berth/nodes"
)

// Wake returns the earliest time after progress.Now at which the passage of
// time alone changes what Diff decides (a pause ends, a pod has been ready
// for minReadySeconds, a back-off or deadline expires, a schedule fires),
// or the zero time when nothing is pending. Run sleeps until then.
func Wake(d Desired, observed nodes.NodeState, progress State) time.Time {
	now := progress.Now
	var next time.Time
	at := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	sec := func(n int64) time.Duration { return time.Duration(n) * time.Second }
	byOwner := map[string][]*nodes.PodStatus{}
	for i := range observed.Pods {
		p := &observed.Pods[i]
		byOwner[ownerOf(p)] = append(byOwner[ownerOf(p)], p)
	}
	for i := range d.Workloads {
		w := &d.Workloads[i]
		k := w.Key()
		s := w.Strategy
		if s.MinReadySeconds > 0 {
			for _, o := range byOwner[k] {
				if ready(o) && !o.ReadySince.IsZero() {
					at(o.ReadySince.Add(sec(int64(s.MinReadySeconds))))
				}
			}
		}
		if r, ok := progress.Rollouts[k]; ok && (r.Phase == PhaseProgressing || r.Phase == PhasePaused) {
			switch s.Type {
			case "RollingUpdate":
				if s.ProgressDeadlineSeconds > 0 {
					at(r.LastProgress.Add(sec(int64(s.ProgressDeadlineSeconds)) + time.Millisecond))
				}
			case "BlueGreen":
				if bg := s.BlueGreen; bg != nil {
					if bg.AutoPromotionEnabled && !r.ReadyAt.IsZero() && r.Active != r.Revision {
						at(r.ReadyAt.Add(sec(int64(bg.AutoPromotionSeconds))))
					}
					if !r.SwitchedAt.IsZero() {
						at(r.SwitchedAt.Add(sec(int64(bg.ScaleDownDelaySeconds))))
					}
				}
			case "Canary":
				if c := s.Canary; c != nil && r.Step < len(c.Steps) && c.Steps[r.Step].PauseSeconds > 0 {
					at(r.StepStarted.Add(sec(int64(c.Steps[r.Step].PauseSeconds))))
				}
				deadline := sec(int64(s.ProgressDeadlineSeconds))
				if deadline <= 0 {
					deadline = 10 * time.Minute
				}
				for _, o := range byOwner[k] {
					if o.Revision == r.Revision && !ready(o) && !o.StartedAt.IsZero() {
						at(o.StartedAt.Add(deadline + time.Millisecond))
					}
				}
			}
		}
		if r, ok := progress.Rollouts[k]; ok && w.Kind == "StatefulSet" && !r.Waiting.IsZero() {
			// Turns of waiting for nodes without word (setorder.go).
			step := sec(int64(s.MinReadySeconds)) + DaemonSetStep
			at(r.Waiting.Add((now.Sub(r.Waiting)/step + 1) * step))
		}
		if j, ok := progress.Jobs[k]; ok && w.Job != nil {
			jobWake(&j, w.Job.ActiveDeadlineSeconds, w.Job.TTLSecondsAfterFinished, at)
		}
		if c := w.CronJob; c != nil {
			for _, run := range progress.Crons[k].Runs {
				jobWake(&run, c.Job.ActiveDeadlineSeconds, c.Job.TTLSecondsAfterFinished, at)
			}
			if sch, err := ParseSchedule(c.Schedule, c.TimeZone); err == nil && !c.Suspend {
				at(sch.Next(now))
			}
		}
	}
	return next
}

func jobWake(j *JobRun, activeDeadline int64, ttl *int32, at func(time.Time)) {
	switch {
	case j.Phase == JobRunning:
		at(j.BackoffUntil)
		if activeDeadline > 0 {
			at(j.Started.Add(time.Duration(activeDeadline) * time.Second))
		}
	case ttl != nil && !j.Cleaned:
		at(j.Finished.Add(time.Duration(*ttl) * time.Second))
	}
}
