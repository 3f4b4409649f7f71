package daemon

import (
	"testing"

	"berth.dev/berth/reconciler"
)

func TestFailedRollouts(t *testing.T) {
	for _, tt := range []struct {
		name string
		ws   []reconciler.WorkloadStatus
		want string
	}{
		{"none", []reconciler.WorkloadStatus{{Kind: "Deployment", Namespace: "a", Name: "web", Phase: reconciler.PhaseComplete}}, ""},
		{"deadline", []reconciler.WorkloadStatus{
			{Kind: "Deployment", Namespace: "a", Name: "web", Phase: reconciler.PhaseFailed, Message: "progress deadline exceeded"},
			{Kind: "Rollout", Namespace: "a", Name: "api", Phase: reconciler.PhaseAborted, Message: "canary not ready"},
		}, "Deployment a/web: progress deadline exceeded; Rollout a/api: canary not ready"},
		{"a failed Job is not a failed revision", []reconciler.WorkloadStatus{{Kind: "Job", Namespace: "a", Name: "j", Phase: reconciler.JobFailed}}, ""},
	} {
		if got := failedRollouts(reconciler.Status{Workloads: tt.ws}); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
