package expand

import (
	"math"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/validate"
)

// jobPolicies fills in what decides a Job's outcome beyond counts, with
// the API server's defaults: completions and backoffLimit by the other
// fields (SetDefaults_Job), the completion mode, per-index limits, the
// pod failure and success policies, suspension.
func jobPolicies(s *api.JobSpec, j *plan.Job) {
	if s.Completions == nil && s.Parallelism != nil && *s.Parallelism > 1 && s.CompletionMode != api.IndexedCompletion {
		// No completions with a parallelism is a work queue; with
		// parallelism 1 it behaves as completions 1.
		j.WorkQueue = true
	}
	if s.BackoffLimit == nil && s.BackoffLimitPerIndex != nil {
		j.BackoffLimit = math.MaxInt32
	}
	j.Indexed = s.CompletionMode == api.IndexedCompletion
	j.BackoffLimitPerIndex, j.MaxFailedIndexes, j.Suspend = s.BackoffLimitPerIndex, s.MaxFailedIndexes, s.Suspend
	if p := s.PodFailurePolicy; p != nil {
		for _, r := range p.Rules {
			rule := plan.PodFailureRule{Action: r.Action}
			if e := r.OnExitCodes; e != nil {
				rule.OnExitCodes = &plan.ExitCodeRule{Operator: e.Operator, Values: e.Values}
				if e.ContainerName != nil {
					rule.OnExitCodes.Container = *e.ContainerName
				}
			}
			for _, c := range r.OnPodConditions {
				status := c.Status
				if status == "" {
					status = "True"
				}
				rule.OnPodConditions = append(rule.OnPodConditions, plan.PodCondition{Type: c.Type, Status: status})
			}
			j.PodFailurePolicy = append(j.PodFailurePolicy, rule)
		}
	}
	if p := s.SuccessPolicy; p != nil && j.Indexed {
		for _, r := range p.Rules {
			rule := plan.SuccessRule{Count: r.SucceededCount}
			if r.SucceededIndexes != nil {
				rule.Indexes = []plan.IndexRange{}
				// Checked by validation: an error cannot come back here.
				_ = validate.EachIndexInterval(*r.SucceededIndexes, j.Completions, func(x, y int32) error {
					rule.Indexes = append(rule.Indexes, plan.IndexRange{From: x, To: y})
					return nil
				})
			}
			j.SuccessPolicy = append(j.SuccessPolicy, rule)
		}
	}
}
