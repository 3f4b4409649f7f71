package expand

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

const defaultProgressDeadline = 600

// rolling resolves maxSurge (rounded up) and maxUnavailable (rounded
// down) against replicas; when both come to 0, maxUnavailable is 1, as
// the Deployment controller does so that a rollout can progress.
func rolling(o *object.Object, path string, ru *api.RollingUpdateStrategy, replicas int32, surgeDef, unavailDef api.IntOrString) (surge, unavail int32, diags []diag.Diagnostic) {
	u := unavailDef
	var maxSurge *api.IntOrString
	if ru != nil {
		maxSurge = ru.MaxSurge
	}
	if ru != nil && ru.MaxUnavailable != nil {
		u = *ru.MaxUnavailable
	}
	sv, err := api.Surge(maxSurge, surgeDef, int(replicas))
	if err != nil {
		diags = append(diags, o.Diag(diag.Error, "schema", path+".maxSurge", "%v", err))
	}
	uv, err := u.ScaledValue(int(replicas), false)
	if err != nil {
		diags = append(diags, o.Diag(diag.Error, "schema", path+".maxUnavailable", "%v", err))
	}
	if sv == 0 && uv == 0 {
		uv = 1
	}
	return int32(sv), int32(uv), diags
}

func deploymentStrategy(o *object.Object, d *api.Deployment) func(int32) (plan.Strategy, []diag.Diagnostic) {
	return func(replicas int32) (plan.Strategy, []diag.Diagnostic) {
		st := plan.Strategy{
			Type:                    d.Spec.Strategy.Type,
			MinReadySeconds:         d.Spec.MinReadySeconds,
			ProgressDeadlineSeconds: defaultProgressDeadline,
			Paused:                  d.Spec.Paused,
			RevisionHistoryLimit:    historyLimit(d.Spec.RevisionHistoryLimit),
		}
		if d.Spec.ProgressDeadlineSeconds != nil {
			st.ProgressDeadlineSeconds = *d.Spec.ProgressDeadlineSeconds
		}
		if st.Type == "" {
			st.Type = "RollingUpdate"
		}
		if st.Type != "RollingUpdate" {
			return st, nil
		}
		var diags []diag.Diagnostic
		st.MaxSurge, st.MaxUnavailable, diags = rolling(o, "spec.strategy.rollingUpdate", d.Spec.Strategy.RollingUpdate, replicas, api.DefaultRolling(), api.DefaultRolling())
		return st, diags
	}
}

func daemonSetStrategy(o *object.Object, ds *api.DaemonSet, nodes int) (plan.Strategy, []diag.Diagnostic) {
	st := plan.Strategy{Type: ds.Spec.UpdateStrategy.Type, MinReadySeconds: ds.Spec.MinReadySeconds, RevisionHistoryLimit: historyLimit(ds.Spec.RevisionHistoryLimit)}
	if st.Type == "" {
		st.Type = "RollingUpdate"
	}
	if st.Type != "RollingUpdate" {
		return st, nil
	}
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	u := api.FromInt(1)
	var maxSurge *api.IntOrString
	if ru != nil {
		maxSurge = ru.MaxSurge
	}
	if ru != nil && ru.MaxUnavailable != nil {
		u = *ru.MaxUnavailable
	}
	var diags []diag.Diagnostic
	// The DaemonSet controller rounds both up (at least one node moves).
	sv, err := api.Surge(maxSurge, api.FromInt(0), nodes)
	if err != nil {
		diags = append(diags, o.Diag(diag.Error, "schema", "spec.updateStrategy.rollingUpdate.maxSurge", "%v", err))
	}
	uv, err := u.ScaledValue(nodes, true)
	if err != nil {
		diags = append(diags, o.Diag(diag.Error, "schema", "spec.updateStrategy.rollingUpdate.maxUnavailable", "%v", err))
	}
	if sv == 0 && uv == 0 {
		uv = 1
	}
	st.MaxSurge, st.MaxUnavailable = int32(sv), int32(uv)
	return st, diags
}

func rolloutStrategy(o *object.Object, r *api.Rollout) func(int32) (plan.Strategy, []diag.Diagnostic) {
	return func(replicas int32) (plan.Strategy, []diag.Diagnostic) {
		st := plan.Strategy{MinReadySeconds: r.Spec.MinReadySeconds, RevisionHistoryLimit: historyLimit(r.Spec.RevisionHistoryLimit)}
		var diags []diag.Diagnostic
		switch {
		case r.Spec.Strategy.BlueGreen != nil:
			bg := r.Spec.Strategy.BlueGreen
			st.Type = "BlueGreen"
			st.BlueGreen = &plan.BlueGreen{
				ActiveService:         bg.ActiveService,
				PreviewService:        bg.PreviewService,
				AutoPromotionEnabled:  bg.AutoPromotionEnabled == nil || *bg.AutoPromotionEnabled,
				AutoPromotionSeconds:  bg.AutoPromotionSeconds,
				ScaleDownDelaySeconds: 30,
			}
			if bg.ScaleDownDelaySeconds != nil {
				st.BlueGreen.ScaleDownDelaySeconds = *bg.ScaleDownDelaySeconds
			}
		case r.Spec.Strategy.Canary != nil:
			c := r.Spec.Strategy.Canary
			st.Type = "Canary"
			// Argo's canary defaults: maxSurge 25%, maxUnavailable 0.
			st.MaxSurge, st.MaxUnavailable, diags = rolling(o, "spec.strategy.canary", nil, replicas, api.DefaultRolling(), api.FromInt(0))
			st.Canary = &plan.Canary{StableService: c.StableService, CanaryService: c.CanaryService, Steps: []plan.CanaryStep{}}
			for i, s := range c.Steps {
				step := plan.CanaryStep{SetWeight: s.SetWeight}
				if s.Pause != nil {
					step.Pause = true
					if s.Pause.Duration != nil {
						sec, err := durationSeconds(*s.Pause.Duration)
						if err != nil {
							diags = append(diags, o.Diag(diag.Error, "schema", fmt.Sprintf("spec.strategy.canary.steps[%d].pause.duration", i), "%v", err))
						}
						step.PauseSeconds = sec
					}
				}
				st.Canary.Steps = append(st.Canary.Steps, step)
			}
		default:
			diags = append(diags, o.Diag(diag.Error, "schema", "spec.strategy", "a Rollout needs strategy.blueGreen or strategy.canary"))
		}
		return st, diags
	}
}

// durationSeconds reads Argo's pause duration: seconds as an int, or a
// string with a unit ("30s", "5m", "1h"); a bare number string is seconds.
func durationSeconds(v api.IntOrString) (int32, error) {
	if !v.IsString {
		if v.IntVal < 0 {
			return 0, fmt.Errorf("%d is not a duration: it must not be negative", v.IntVal)
		}
		return v.IntVal, nil
	}
	if n, err := strconv.Atoi(v.StrVal); err == nil && n >= 0 {
		return int32(n), nil
	}
	d, err := time.ParseDuration(v.StrVal)
	if err != nil || d < 0 || strings.ContainsAny(v.StrVal, "µn") {
		return 0, fmt.Errorf("%q is not a duration (examples: 30, \"30s\", \"5m\", \"1h\")", v.StrVal)
	}
	return int32(d / time.Second), nil
}

// jobSettings applies Kubernetes' Job defaults: completions 1,
// parallelism 1, backoffLimit 6 (jobPolicies: unless per-index).
func jobSettings(s *api.JobSpec) plan.Job {
	j := plan.Job{Completions: 1, Parallelism: 1, BackoffLimit: 6, TTLSecondsAfterFinished: s.TTLSecondsAfterFinished}
	if s.Completions != nil {
		j.Completions = *s.Completions
	}
	if s.Parallelism != nil {
		j.Parallelism = *s.Parallelism
	}
	if s.BackoffLimit != nil {
		j.BackoffLimit = *s.BackoffLimit
	}
	if s.ActiveDeadlineSeconds != nil {
		j.ActiveDeadlineSeconds = *s.ActiveDeadlineSeconds
	}
	jobPolicies(s, &j)
	return j
}

// cronJobSettings applies the CronJob defaults: Allow, history 3 and 1.
func cronJobSettings(s *api.CronJobSpec) plan.CronJob {
	c := plan.CronJob{
		Schedule:                   s.Schedule,
		ConcurrencyPolicy:          s.ConcurrencyPolicy,
		StartingDeadlineSeconds:    s.StartingDeadlineSeconds,
		Suspend:                    s.Suspend,
		SuccessfulJobsHistoryLimit: 3,
		FailedJobsHistoryLimit:     1,
		Job:                        jobSettings(&s.JobTemplate.Spec),
	}
	if s.TimeZone != nil {
		c.TimeZone = *s.TimeZone
	}
	if c.ConcurrencyPolicy == "" {
		c.ConcurrencyPolicy = "Allow"
	}
	if s.SuccessfulJobsHistoryLimit != nil {
		c.SuccessfulJobsHistoryLimit = *s.SuccessfulJobsHistoryLimit
	}
	if s.FailedJobsHistoryLimit != nil {
		c.FailedJobsHistoryLimit = *s.FailedJobsHistoryLimit
	}
	return c
}

// defaultHistoryLimit is the revisionHistoryLimit of Deployments,
// DaemonSets and Argo Rollouts that name none.
const defaultHistoryLimit = 10

func historyLimit(v *int32) *int32 {
	n := int32(defaultHistoryLimit)
	if v != nil {
		n = *v
	}
	return &n
}
