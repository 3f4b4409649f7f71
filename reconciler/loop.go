package reconciler

// The reconciler's loop: one pass per request or wake, the one resync
// timer, and the requests (Apply, Promote, Abort) it answers.

import (
	"context"
	"fmt"
	"time"

	"berth.dev/berth/compiler/plan"
)

// Poke makes Run pass again now (the other nodes' readiness changed).
func (r *Reconciler) Poke() { r.wakeUp() }

// applyRequest is a plan for Run's loop, and where the loop answers with
// the result of the one pass it runs for it.
type applyRequest struct {
	plan  *plan.Plan
	reply chan<- applied
}

type applied struct {
	res Result
	err error
}

// Apply hands p to Run's loop, which makes it the plan it runs, and
// returns the result of the one pass the loop runs for it: an apply is
// one pass, reported once, to the caller (raft's Ready/Advance is the
// model). The loop must be running (Run); ctx ending gives up waiting.
func (r *Reconciler) Apply(ctx context.Context, p *plan.Plan) (Result, error) {
	reply := make(chan applied, 1)
	select {
	case r.applies <- applyRequest{plan: p, reply: reply}:
	case <-ctx.Done():
		return Result{Revision: p.Revision}, ctx.Err()
	}
	select {
	case a := <-reply:
		return a.res, a.err
	case <-ctx.Done():
		return Result{Revision: p.Revision}, ctx.Err()
	}
}

// Run reconciles every plan it receives (on plans, or from Apply), and
// again every Resync and after Promote or Abort, until ctx ends. Errors
// of a pass are logged and the loop goes on (the next pass retries); the
// errors of a pass Apply asked for are its caller's to report.
func (r *Reconciler) Run(ctx context.Context, plans <-chan *plan.Plan) error {
	t := time.NewTicker(r.opts.Resync)
	defer t.Stop()
	// wake fires when a pause, delay or schedule is due before the next tick.
	wake := time.NewTimer(time.Hour)
	wake.Stop()
	defer wake.Stop()
	var cur *plan.Plan
	for {
		var reply chan<- applied
		resync := false
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p, ok := <-plans:
			if !ok {
				plans = nil
				continue
			}
			cur = p
		case req := <-r.applies:
			cur, reply = req.plan, req.reply
		case <-t.C:
			resync = true
		case <-wake.C:
		case <-r.poke:
		}
		if cur == nil {
			continue
		}
		if resync && r.opts.OnResync != nil {
			r.opts.OnResync(ctx, cur)
		}
		start := time.Now()
		res, err := r.Reconcile(ctx, cur, "")
		if r.opts.OnPass != nil {
			r.opts.OnPass(res, time.Since(start), err)
		}
		if reply != nil {
			reply <- applied{res, err}
		} else if err != nil {
			r.opts.Logger.Error("reconcile", "revision", cur.Revision, "err", err)
		}
		next := time.Duration(0)
		if !res.Wake.IsZero() {
			if d := res.Wake.Sub(r.opts.Clock.Now()); d < r.opts.Resync {
				next = max(d, 50*time.Millisecond) // a floor: never spin
			}
		}
		// Readiness changes in the pod driver do not poke the loop: while
		// the node waits for pods (a rollout step, a new service's
		// endpoints), look again soon, so traffic moves as soon as a pod is
		// ready rather than at the next resync.
		// A pass that acted without failing and left the node short of
		// converged (it recorded a rollout's end, say) is followed soon
		// too, rather than at the next resync.
		moving := len(res.Waiting) > 0 || (len(res.Actions) > 0 && res.Failed == 0 && err == nil)
		if !res.Converged && moving && (next == 0 || next > r.opts.WaitingPoll) {
			next = r.opts.WaitingPoll
		}
		if next > 0 {
			wake.Reset(next)
		}
	}
}

// Promote moves a paused blue/green or canary rollout on (name is NAME,
// NAMESPACE/NAME or KIND/NAMESPACE/NAME).
func (r *Reconciler) Promote(name string) error { return r.request(name, true) }

// Abort sends a blue/green or canary rollout back to its stable revision.
func (r *Reconciler) Abort(name string) error { return r.request(name, false) }

func (r *Reconciler) request(name string, promote bool) error {
	verb := "abort"
	if promote {
		verb = "promote"
	}
	r.passMu.Lock()
	defer r.passMu.Unlock()
	var found []*plan.Workload
	for i := range r.desired.Workloads {
		w := &r.desired.Workloads[i]
		if name == w.Name || name == w.Namespace+"/"+w.Name || name == w.Key() {
			found = append(found, w)
		}
	}
	switch {
	case len(found) == 0:
		return fmt.Errorf("%s %s: no such workload in the applied plan", verb, name)
	case len(found) > 1:
		return fmt.Errorf("%s %s: ambiguous, name it as KIND/NAMESPACE/NAME (%s, %s)", verb, name, found[0].Key(), found[1].Key())
	}
	w := found[0]
	if w.Strategy.Type != "BlueGreen" && w.Strategy.Type != "Canary" {
		return fmt.Errorf("%s %s: %s rolls with %q; only blue/green and canary rollouts can be promoted or aborted", verb, name, w.Key(), w.Strategy.Type)
	}
	ro, ok := r.state.Rollouts[w.Key()]
	if !ok || ro.Phase == PhaseComplete || ro.Phase == PhaseAborted || ro.Stable == "" {
		return fmt.Errorf("%s %s: no rollout in progress", verb, name)
	}
	if promote {
		ro.Promote = true
	} else {
		ro.Abort = true
	}
	if err := r.save([]*Record{{Bucket: bucketRollouts, Key: w.Key(), Value: ro}}); err != nil {
		return fmt.Errorf("%s %s: %w", verb, name, err)
	}
	r.events.add(Event{Time: r.opts.Clock.Now(), Object: w.Key(), Action: verb, Reason: "requested by the user", Result: "ok"})
	r.wakeUp()
	return nil
}

// wakeUp makes Run pass again now.
func (r *Reconciler) wakeUp() {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}
