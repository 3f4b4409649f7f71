package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"berth.dev/berth/nodes"
)

// Event is one thing the reconciler did or decided, for status and logs.
type Event struct {
	Time   time.Time `json:"time"`
	Object string    `json:"object"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Reason string    `json:"reason"`
	// Result is ok, skipped (the precondition no longer held) or failed.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// ring keeps the last events.
type ring struct {
	mu     sync.Mutex
	events []Event
	next   int
	full   bool
}

func newRing(n int) *ring { return &ring{events: make([]Event, n)} }

func (r *ring) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[r.next] = e
	r.next = (r.next + 1) % len(r.events)
	if r.next == 0 {
		r.full = true
	}
}

// list returns the events, oldest first.
func (r *ring) list() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]Event(nil), r.events[:r.next]...)
	}
	return append(append([]Event(nil), r.events[r.next:]...), r.events[:r.next]...)
}

// failure is an action's failures in a row, and when it may run again.
type failure struct {
	n     int
	until time.Time
}

// errSkip marks an action whose precondition no longer holds.
var errSkip = errors.New("precondition no longer holds")

// stage runs the pod actions of one kind in parallel (bounded), each after
// re-checking it against fresh state, each retried with back-off. It waits
// for them all, or, with wait > 0, at most that long: what is still
// running then goes on in the background (r.stopping), for at most
// StopDeadline, and pokes the loop when done; its error shows in the
// status (lastErr) after the next pass.
func (r *Reconciler) stage(ctx context.Context, acts []Action, wait time.Duration) []error {
	// An action that failed in an earlier pass waits out its back-off.
	now := r.opts.Clock.Now()
	ready := acts[:0:0]
	r.mu.Lock()
	for _, a := range acts {
		if f, ok := r.failures[a.Kind.String()+" "+a.Key]; ok && now.Before(f.until) {
			r.events.add(Event{Time: now, Object: a.Object, Action: a.Kind.String(), Target: a.Key, Reason: a.Reason, Result: "backoff",
				Error: fmt.Sprintf("failed %d times, next try at %s", f.n, f.until.UTC().Format(time.RFC3339))})
			continue
		}
		ready = append(ready, a)
	}
	r.mu.Unlock()
	acts = ready
	if len(acts) == 0 {
		return nil
	}
	live, err := r.opts.Runtime.Observe(ctx)
	if err != nil {
		return []error{fmt.Errorf("observe before %s: %w", acts[0].Kind, err)}
	}
	sem := make(chan struct{}, r.opts.Parallel)
	// Each action ends as running, done (its error in errs) or, once
	// handed to the background, background; all under r.mu.
	const (
		running = iota
		done
		background
	)
	states := make([]int, len(acts))
	errs := make([]error, len(acts))
	left := make(chan struct{}, len(acts))
	for i := range acts {
		a := &acts[i]
		r.bg.Add(1)
		go func() {
			defer r.bg.Done()
			sem <- struct{}{}
			actx := ctx
			if wait > 0 {
				// From when it runs, not from when it queued.
				var cancel context.CancelFunc
				actx, cancel = context.WithTimeout(ctx, r.opts.StopDeadline)
				defer cancel()
			}
			err := r.run(actx, a, &live)
			<-sem
			if err == nil {
				r.stopDone(a)
			}
			r.mu.Lock()
			r.noteResult(a, err)
			wasBackground := states[i] == background
			states[i], errs[i] = done, err
			if wasBackground {
				delete(r.stopping, a.Key)
				if err != nil {
					r.bgErrs = append(r.bgErrs, err)
				}
			}
			r.mu.Unlock()
			if wasBackground {
				r.wakeUp()
			}
			left <- struct{}{}
		}()
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
wait:
	for range acts {
		select {
		case <-left:
		case <-timeout:
			break wait
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []error
	for i := range acts {
		switch states[i] {
		case running:
			states[i] = background
			r.stopping[acts[i].Key] = true
			r.opts.Logger.Info("pod still stopping; going on meanwhile", "pod", acts[i].Key, "after", wait)
		case done:
			if errs[i] != nil {
				out = append(out, errs[i])
			}
		}
	}
	return out
}

// stopDone forgets the recorded stop of a pod that is stopped or gone.
func (r *Reconciler) stopDone(a *Action) {
	if a.Kind != ActRemove && a.Kind != ActStop {
		return
	}
	r.mu.Lock()
	_, ok := r.stops[a.Key]
	r.mu.Unlock()
	if !ok {
		return
	}
	if err := r.save([]*Record{{Bucket: bucketStops, Key: a.Key}}); err != nil {
		// The next pass sees the pod gone (and forgets the stop) or
		// stopped (and stops it again, at once).
		r.opts.Logger.Warn("forget a finished stop", "pod", a.Key, "err", err)
	}
}

// noteResult keeps the executor's back-off for an action that failed
// every try. The caller holds r.mu.
func (r *Reconciler) noteResult(a *Action, err error) {
	k := a.Kind.String() + " " + a.Key
	if err == nil {
		delete(r.failures, k)
		return
	}
	f := r.failures[k]
	f.n++
	f.until = r.opts.Clock.Now().Add(r.opts.FailureBackoff.After(f.n))
	r.failures[k] = f
}

// precheck is STYLE.md 13: act only if the live pod is still what the
// decision saw.
func precheck(a *Action, live *nodes.NodeState) error {
	o := live.Pod(a.Key)
	switch a.Kind {
	case ActRemove:
		if o == nil || a.Hash != "" && o.Hash != a.Hash {
			return errSkip
		}
	case ActStop:
		if o == nil || a.Hash != "" && o.Hash != a.Hash {
			return errSkip
		}
	case ActCreate:
		if o != nil {
			return errSkip // exists already, or its name is still taken
		}
	case ActUpdateConfig:
		if o == nil || o.Hash != a.Pod.Hash || o.ConfigHash == a.Pod.ConfigHash {
			return errSkip
		}
	case ActDeleteClaim:
		if live.Pod(a.Holder) != nil {
			return errSkip // its pod came back: the claim is in use
		}
	}
	return nil
}

func (r *Reconciler) run(ctx context.Context, a *Action, live *nodes.NodeState) error {
	ev := Event{Time: r.opts.Clock.Now(), Object: a.Object, Action: a.Kind.String(), Target: a.Key, Reason: a.Reason, Result: "ok"}
	if err := precheck(a, live); err != nil {
		ev.Result = "skipped"
		r.events.add(ev)
		return nil
	}
	if a.Kind == ActRemove || a.Kind == ActStop {
		r.drain(ctx, a, live)
	}
	var err error
	for try := 0; try <= r.opts.Retries; try++ {
		if try > 0 {
			t := time.NewTimer(r.opts.RetryDelay << (try - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				err = errors.Join(err, ctx.Err())
				try = r.opts.Retries
				continue
			case <-t.C:
			}
		}
		if err = r.do(ctx, a); err == nil {
			break
		}
	}
	if err != nil {
		ev.Result, ev.Error = "failed", err.Error()
		r.events.add(ev)
		r.opts.Logger.Warn("action failed", "action", a.Kind.String(), "pod", a.Key, "object", a.Object, "reason", a.Reason, "err", err)
		return fmt.Errorf("%s %s: %w", a.Kind, a.Key, err)
	}
	r.events.add(ev)
	r.opts.Logger.Info("action", "action", a.Kind.String(), "pod", a.Key, "object", a.Object, "reason", a.Reason)
	return nil
}

// drain lets the pod finish the connections it serves: the pass took it
// out of every service's rules before this stop (other nodes reach it only
// through this node's transit ports), so no new one comes.
func (r *Reconciler) drain(ctx context.Context, a *Action, live *nodes.NodeState) {
	o := live.Pod(a.Key)
	if r.opts.Drainer == nil || o == nil || o.IP == "" {
		return
	}
	until := time.Now().Add(r.opts.DrainMax)
	if !a.Deadline.IsZero() && a.Deadline.Before(until) {
		until = a.Deadline
	}
	start := time.Now()
	n, err := r.opts.Drainer.Drain(ctx, []string{o.IP}, until)
	switch {
	case err != nil:
		r.opts.Logger.Warn("drain connections", "pod", a.Key, "err", err)
	case n > 0:
		r.opts.Logger.Info("stopping a pod with connections still active", "pod", a.Key, "active", n, "waited", time.Since(start).Round(time.Millisecond))
	}
}

func (r *Reconciler) do(ctx context.Context, a *Action) error {
	switch a.Kind {
	case ActRemove:
		return r.opts.Runtime.RemovePod(ctx, a.Key, a.Deadline)
	case ActStop:
		return r.opts.Runtime.StopPod(ctx, a.Key, a.Deadline)
	case ActCreate:
		return r.opts.Runtime.CreatePod(ctx, a.Pod)
	case ActUpdateConfig:
		return r.opts.Runtime.UpdatePodConfig(ctx, a.Pod)
	case ActDeleteClaim:
		return r.deleteClaim(a)
	}
	return fmt.Errorf("unknown action %d", a.Kind)
}
