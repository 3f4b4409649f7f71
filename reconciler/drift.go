package reconciler

import (
	"fmt"
	"strings"
)

// drift reports the repairs of a pass on a node that had converged on the
// same revision: what differed from the plan although nothing changed in
// it (a pod removed or stopped by hand, a dead pod re-created, a config
// file altered). Job and CronJob runs are not drift; neither is a pass
// that moves a rollout on.
func (r *Reconciler) drift(rev string, res Result) {
	defer func() { r.lastRev, r.lastConverged = rev, res.Converged }()
	if r.opts.OnDrift == nil || rev != r.lastRev || !r.lastConverged {
		return
	}
	var repairs []string
	for _, a := range res.Actions {
		if a.Kind == ActRecord || strings.HasPrefix(a.Object, "Job/") || strings.HasPrefix(a.Object, "CronJob/") {
			continue
		}
		repairs = append(repairs, fmt.Sprintf("%s %s (%s): %s", a.Kind, a.Key, a.Object, a.Reason))
	}
	if len(repairs) > 0 {
		r.opts.OnDrift(rev, repairs)
	}
}

// RetryFailed gives the rollouts of the revision the node runs that
// failed or aborted a new start (berth retry): they progress again, with
// a new progress deadline.
func (r *Reconciler) RetryFailed() error {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	now := r.opts.Clock.Now()
	var recs []*Record
	r.mu.Lock()
	for k, ro := range r.state.Rollouts {
		if ro.Phase == PhaseFailed || ro.Phase == PhaseAborted {
			ro.Phase, ro.Message, ro.LastProgress, ro.Started, ro.Available = PhaseProgressing, "retried", now, now, -1
			recs = append(recs, &Record{Bucket: bucketRollouts, Key: k, Value: ro})
		}
	}
	r.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if err := r.save(recs); err != nil {
		return err
	}
	r.events.add(Event{Time: now, Object: "rollouts", Action: "retry", Reason: fmt.Sprintf("%d failed rollouts retried by the user", len(recs)), Result: "ok"})
	r.wakeUp()
	return nil
}
