package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/gitops"
)

// watchOutcomes marks the applied revision failed in the history when one
// of its rollouts fails (a progress deadline passed, a canary or blue/green
// aborted), with the workloads and reasons. The loop records the rest of a
// revision's outcomes; this is the part only the reconciler knows.
func watchOutcomes(ctx context.Context, loop *gitops.Loop, node *Node, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rec := node.Reconciler()
		applied := loop.Status().Applied
		if rec == nil || applied == "" {
			continue
		}
		st := rec.Status()
		if st.Revision != applied {
			continue
		}
		if reason := failedRollouts(st); reason != "" {
			loop.History().Mark(applied, gitops.Failed, reason)
		}
	}
}

// failedRollouts names the workloads whose rollout failed, with why.
func failedRollouts(st reconciler.Status) string {
	var out []string
	for _, w := range st.Workloads {
		if w.Kind == "Job" || w.Kind == "CronJob" {
			continue // a failed Job is the Job's outcome, not the revision's
		}
		if w.Phase == reconciler.PhaseFailed || w.Phase == reconciler.PhaseAborted {
			out = append(out, fmt.Sprintf("%s %s/%s: %s", w.Kind, w.Namespace, w.Name, w.Message))
		}
	}
	return strings.Join(out, "; ")
}
