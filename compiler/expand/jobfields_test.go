package expand

import (
	"math"
	"reflect"
	"testing"

	"berth.dev/berth/compiler/plan"
)

// The Job fields that decide outcomes reach the plan with the API
// server's defaults: backoffLimit MaxInt32 with a per-index limit, a
// condition's status True, the success policy's indexes as ranges.
func TestJobPolicies(t *testing.T) {
	res := expandSrc(t, `apiVersion: batch/v1
kind: Job
metadata: {name: shards}
spec:
  completionMode: Indexed
  completions: 6
  parallelism: 3
  backoffLimitPerIndex: 1
  maxFailedIndexes: 2
  suspend: true
  podFailurePolicy:
    rules:
    - {action: FailJob, onExitCodes: {containerName: c, operator: In, values: [42]}}
    - {action: Ignore, onPodConditions: [{type: DisruptionTarget}]}
  successPolicy:
    rules: [{succeededIndexes: "0-2,5", succeededCount: 3}]
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1"}]
`)
	if len(res.Diags) > 0 {
		t.Fatal(res.Diags)
	}
	one, two, three := int32(1), int32(2), int32(3)
	want := plan.Job{Completions: 6, Parallelism: 3, BackoffLimit: math.MaxInt32, Indexed: true,
		BackoffLimitPerIndex: &one, MaxFailedIndexes: &two, Suspend: true,
		PodFailurePolicy: []plan.PodFailureRule{
			{Action: "FailJob", OnExitCodes: &plan.ExitCodeRule{Container: "c", Operator: "In", Values: []int32{42}}},
			{Action: "Ignore", OnPodConditions: []plan.PodCondition{{Type: "DisruptionTarget", Status: "True"}}},
		},
		SuccessPolicy: []plan.SuccessRule{{Indexes: []plan.IndexRange{{From: 0, To: 2}, {From: 5, To: 5}}, Count: &three}},
	}
	if got := *res.Workloads[0].Job; !reflect.DeepEqual(got, want) {
		t.Errorf("job:\n%+v\nwant:\n%+v", got, want)
	}
}
