// Package gitops is the daemon's loop: it follows a source, compiles each
// new revision and hands the plan of the newest good one to the node,
// once (again only after a failed apply). A revision that fails to
// compile is never applied: the node keeps its last good plan and the
// error is reported (Flux's "stalled"). Drift is the node's to repair:
// its reconciler's loop re-checks the plan it was handed on its own
// timer, the node's only resync.
//
// Fetching and compiling run off the loop's critical path, under
// deadlines: while a revision is fetched or compiled (or after it was
// refused), the node goes on running the last good plan, so drift is
// repaired even while a hostile commit costs what its budgets allow.
package gitops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/plandiff"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/fleet"
	"berth.dev/berth/reconciler/notify"
	"berth.dev/berth/reconciler/source"
)

// Fetcher brings the newest revision; changed is false when it equals have.
type Fetcher interface {
	Fetch(ctx context.Context, have string) (rev source.Revision, changed bool, err error)
}

// Snapshots is what a Fetcher may also offer: old revisions kept on disk.
// With it, a restarted loop recompiles the revision it applied last before
// it looks at the head, and old snapshots are pruned after each apply.
type Snapshots interface {
	Snapshot(id string) (source.Revision, bool)
	Prune(keep ...string) error
}

// CompileFunc compiles one revision's manifests into a plan. ctx ends at
// the compile deadline: evaluations in child processes stop then.
type CompileFunc func(ctx context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic)

// Anchor is what a Fetcher may also offer: it is told the revision the
// node applied, and refuses a later head that rolls back from it.
type Anchor interface {
	Anchor(id string)
}

// Applier drives the node toward a plan (one reconcile pass).
type Applier interface {
	Apply(ctx context.Context, p *plan.Plan) error
}

// Options configure a Loop.
type Options struct {
	Source  Fetcher
	Compile CompileFunc
	Apply   Applier
	// Poll is how often the source is asked for a new revision (default 30s).
	Poll time.Duration
	// Retry is how soon a plan whose apply failed is handed to the node
	// again (default 5s), doubling up to 5 minutes.
	Retry time.Duration
	// CompileTimeout bounds one revision's compile (default 10 min): past
	// it the revision is refused, and the next waits for the compile to
	// end. FetchTimeout bounds one fetch (default 5 min).
	CompileTimeout time.Duration
	FetchTimeout   time.Duration
	// StateDir keeps the last good revision across restarts.
	StateDir string
	Logger   *slog.Logger
	Metrics  *Metrics
	Now      func() time.Time
	// History records what became of each revision (default: kept in
	// StateDir).
	History *History
	// Node is this node's name: its facts in the fleet view.
	Node string
	// AutoRevert: when the head fails on any node of the inventory, every
	// node goes back to the last revision healthy on all of them
	// (fleet.Decide); the branch is not touched.
	AutoRevert bool
	// Fleet exchanges revision facts with the other nodes (nil: this
	// node decides alone).
	Fleet Exchange
	// Notify receives the loop's events (nil: none).
	Notify Notifier
	// OnRetry is called when a revision is retried (the reconciler gives
	// its failed rollouts a new deadline).
	OnRetry func(rev string)
	// Tick is how often the loop looks at the fleet's facts (default
	// 200ms): a failure elsewhere reaches this node within it.
	Tick time.Duration
}

// Loop is the GitOps loop of one node.
type Loop struct {
	opts    Options
	trigger chan struct{}
	// transition orders what health and decisions report: a failure
	// found here is recorded and told (notify.Failed) before a decision
	// can act on it (notify.Reverted). Taken before mu, never under it.
	transition sync.Mutex

	mu     sync.Mutex
	status Status
	// good is the plan the node applies (the decision's target); goodKey
	// is its revision and why.
	good    *plan.Plan
	goodKey string
	// goodHash is good.Digest(), computed once per compiled revision rather
	// than on every resync.
	goodHash    string
	appliedOnce bool
	// tried is the plan last handed to the node; failed says its apply
	// failed, and then retryAt is when it is handed over again (after
	// retryIn, which doubles).
	tried   *plan.Plan
	failed  bool
	retryAt time.Time
	retryIn time.Duration
	// plans are compiled revisions (see evict); headRev the newest that
	// compiled; want one to compile from its snapshot for a decision.
	plans map[string]compiled
	// drained are the drained nodes (cordon.go) the plans are compiled
	// with now; a plan compiled with others is compiled again.
	drained   []string
	headRev   string
	want      string
	inventory []string
	decision  fleet.Decision
	ops       ops
	// opsMu orders the writes of the operator state's file.
	opsMu sync.Mutex
	wake  chan struct{}
}

// Status is what `berth status` shows of the loop.
type Status struct {
	// Applied is the revision whose plan the node runs.
	Applied string `json:"applied,omitempty"`
	// Applying is the revision being applied right now, if any.
	Applying string `json:"applying,omitempty"`
	// PlanHash is the SHA-256 of the applied plan's JSON: equal on every
	// node that compiled the same commit.
	PlanHash string `json:"planHash,omitempty"`
	// Head is the newest revision seen at the source.
	Head string `json:"head,omitempty"`
	// Compiling is the revision being fetched or compiled, if any.
	Compiling string    `json:"compiling,omitempty"`
	LastFetch time.Time `json:"lastFetch,omitzero"`
	LastApply time.Time `json:"lastApply,omitzero"`
	// Rejected is set while the newest revision fails lint or plan.
	Rejected *Rejection `json:"rejected,omitempty"`
	// LastError is the last fetch or apply error, cleared on success.
	LastError string `json:"lastError,omitempty"`
	// Health is the health on this node of the revision it runs.
	Health *reconciler.Health `json:"health,omitempty"`
	// Target is the revision the node goes to, and Why: head (the newest
	// good one), pinned, suspended (the applied one stays), reverted (the
	// head failed: the last revision healthy everywhere), failed (the
	// head failed with nothing to go back to).
	Target string `json:"target,omitempty"`
	Why    string `json:"why,omitempty"`
	// Failure is the head's failure, on this node or another.
	Failure *fleet.NodeFailure `json:"failure,omitempty"`
	// LastHealthy is the last revision healthy on every node.
	LastHealthy string `json:"lastHealthy,omitempty"`
	Suspended   bool   `json:"suspended,omitempty"`
	Pinned      string `json:"pinned,omitempty"`
	AutoRevert  bool   `json:"autoRevert"`
	// Drained are the nodes drained (berth node drain) that this node's
	// plan has unschedulable.
	Drained []string `json:"drained,omitempty"`
}

// Rejection is a revision that failed to compile, with its diagnostics.
type Rejection struct {
	Revision string `json:"revision"`
	// Reason is one line: "budget exceeded (file size, deploy/big.yaml)",
	// or the first error.
	Reason      string            `json:"reason"`
	Diagnostics []diag.Diagnostic `json:"diagnostics"`
}

// New makes a loop; Run starts it.
func New(opts Options) *Loop {
	if opts.Poll <= 0 {
		opts.Poll = 30 * time.Second
	}
	if opts.Retry <= 0 {
		opts.Retry = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.History == nil {
		opts.History = NewHistory(opts.StateDir, opts.Now)
	}
	if opts.CompileTimeout <= 0 {
		opts.CompileTimeout = time.Duration(budget.Limits{}.Get(budget.CompileTime))
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 5 * time.Minute
	}
	if opts.Tick <= 0 {
		opts.Tick = 200 * time.Millisecond
	}
	l := &Loop{opts: opts, trigger: make(chan struct{}, 1), wake: make(chan struct{}, 1), plans: map[string]compiled{}}
	l.status.AutoRevert = opts.AutoRevert
	return l
}

// Trigger asks for a fetch now (webhook, fsnotify); it never blocks.
func (l *Loop) Trigger() {
	select {
	case l.trigger <- struct{}{}:
	default:
	}
}

// Status returns a copy of the loop's status.
func (l *Loop) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// History is the loop's record of revisions.
func (l *Loop) History() *History { return l.opts.History }

// Plan returns the plan the node runs (nil before the first good revision).
func (l *Loop) Plan() *plan.Plan {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.good
}

// Run follows the source until ctx ends. Fetch and compile run on their
// own goroutine, one at a time; the loop applies and re-applies the good
// plan meanwhile.
func (l *Loop) Run(ctx context.Context) error {
	l.restore()
	l.resume(ctx)
	// Polls are jittered by up to a tenth of the interval so that a fleet
	// following one repository does not fetch in the same second.
	poll := time.NewTimer(l.opts.Poll + jitter(l.opts.Poll))
	defer poll.Stop()
	tick := time.NewTicker(l.opts.Tick)
	defer tick.Stop()
	done := make(chan struct{}, 1)
	busy, again := false, false
	fetch := func() {
		if busy {
			again = true // one more fetch when this one ends
			return
		}
		busy = true
		go func() {
			l.fetchAndCompile(ctx)
			done <- struct{}{}
		}()
	}
	fetch()
	l.applyGood(ctx) // a resumed plan runs before the fetch ends
	for {
		select {
		case <-ctx.Done():
			if busy {
				<-done
			}
			return nil
		case <-l.trigger:
			fetch()
		case <-poll.C:
			fetch()
			poll.Reset(l.opts.Poll + jitter(l.opts.Poll))
		case <-done:
			busy = false
			if again {
				again = false
				fetch()
			}
			l.applyGood(ctx)
		case <-l.wake:
			l.decide()
			l.applyGood(ctx)
		case <-tick.C:
			l.decide()
			l.applyGood(ctx) // a failed apply, when its retry is due
		}
	}
}

// Step runs one iteration synchronously: fetch when asked, compile a new
// revision, and hand the good plan to the node if it was not yet (or its
// retry is due). It is exported for tests.
func (l *Loop) Step(ctx context.Context, fetch bool) {
	if fetch {
		l.fetchAndCompile(ctx)
	}
	l.applyGood(ctx)
}

// applyGood hands the good plan to the node when it has not had it, or
// when the retry of its failed apply is due: one apply per plan, since
// the node keeps running it (Applier).
func (l *Loop) applyGood(ctx context.Context) {
	l.mu.Lock()
	good := l.good
	due := good != nil && (good != l.tried || (l.failed && !l.opts.Now().Before(l.retryAt)))
	l.mu.Unlock()
	if due && ctx.Err() == nil {
		l.apply(ctx, good)
	}
}

func (l *Loop) fetchAndCompile(ctx context.Context) {
	l.compileWanted(ctx)
	l.mu.Lock()
	have := l.status.Head
	l.mu.Unlock()
	start := l.opts.Now()
	fctx, cancel := context.WithTimeout(ctx, l.opts.FetchTimeout)
	rev, changed, err := l.opts.Source.Fetch(fctx, have)
	cancel()
	l.mu.Lock()
	l.status.LastFetch = start
	l.mu.Unlock()
	var refused *source.RevisionError
	if errors.As(err, &refused) {
		// The commit itself is refused (unsigned, a rollback, over a
		// budget): as a compile error, not a transport one.
		l.mu.Lock()
		l.status.Head = refused.ID
		l.mu.Unlock()
		if !l.rejected(refused.ID) {
			l.reject(source.Revision{ID: refused.ID}, []diag.Diagnostic{revisionDiag(refused)})
		}
		return
	}
	if err != nil {
		l.opts.Logger.Warn("fetch failed; keeping the last good revision", "err", err)
		l.setError(err)
		l.opts.Metrics.fetchFailed()
		return
	}
	l.mu.Lock()
	l.status.Head = rev.ID
	_, known := l.plans[rev.ID]
	known = known && !changed
	if known {
		l.headRev = rev.ID
	}
	l.mu.Unlock()
	if known {
		l.decide()
		return
	}
	if !changed && l.rejected(rev.ID) {
		return
	}
	p, diags := l.compile(ctx, rev)
	if errs, _ := diag.Count(diags); errs > 0 || p == nil {
		l.reject(rev, diags)
		return
	}
	l.opts.Logger.Info("new revision compiled", "revision", rev.ID, "message", rev.Message)
	hash := p.Digest()
	l.mu.Lock()
	prev := l.good
	l.plans[rev.ID] = compiled{p: p, hash: hash, drained: drainedKey(p)}
	l.headRev, l.inventory = rev.ID, inventoryOf(p)
	l.status.Rejected = nil
	l.mu.Unlock()
	l.opts.History.seen(rev, Pending, "", plandiff.Compare(prev, p))
	l.opts.History.supersede(rev.ID)
	l.opts.Metrics.revisionSeen(start)
	l.decide()
}

// compile runs the compile under the deadline. Past it, the revision is
// refused at once; the compile itself cannot be stopped (its evaluations
// in child processes are), so this returns only when it ends, and no other
// compile starts before.
func (l *Loop) compile(ctx context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic) {
	l.mu.Lock()
	l.status.Compiling = rev.ID
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.status.Compiling = ""
		l.mu.Unlock()
	}()
	cctx, cancel := context.WithTimeout(ctx, l.opts.CompileTimeout)
	defer cancel()
	type result struct {
		p     *plan.Plan
		diags []diag.Diagnostic
	}
	res := make(chan result, 1)
	go func() {
		p, diags := l.opts.Compile(cctx, rev)
		res <- result{p, diags}
	}()
	select {
	case r := <-res:
		if cctx.Err() == nil || ctx.Err() != nil {
			return r.p, r.diags
		}
	case <-cctx.Done():
		if ctx.Err() == nil {
			l.reject(rev, []diag.Diagnostic{overtime(l.opts.CompileTimeout)})
		}
		<-res
	}
	return nil, []diag.Diagnostic{overtime(l.opts.CompileTimeout)}
}

func overtime(max time.Duration) diag.Diagnostic {
	return (&budget.Exceeded{Limit: budget.CompileTime, Where: "the revision", Max: int64(max)}).Diagnostic(diag.Pos{})
}

// revisionDiag is the diagnostic of a commit the source refused.
func revisionDiag(e *source.RevisionError) diag.Diagnostic {
	var ex *budget.Exceeded
	if errors.As(e.Err, &ex) {
		return ex.Diagnostic(diag.Pos{})
	}
	return diag.Diagnostic{Severity: diag.Error, Rule: "source", Message: e.Err.Error()}
}

// reject records a refused revision; the node keeps its last good plan.
func (l *Loop) reject(rev source.Revision, diags []diag.Diagnostic) {
	id := rev.ID
	r := &Rejection{Revision: id, Reason: reason(diags), Diagnostics: diags}
	l.mu.Lock()
	old := l.status.Rejected
	l.status.Rejected = r
	l.mu.Unlock()
	if old != nil && old.Revision == id {
		return // told already (a compile past its deadline, then ending)
	}
	l.opts.Logger.Error("revision refused; the node keeps its last good plan", "revision", id, "reason", r.Reason)
	l.opts.Metrics.rejected()
	l.opts.History.seen(rev, Rejected, r.Reason, nil)
	var first []string
	for _, d := range diags {
		if d.Severity == diag.Error && len(first) < 5 {
			first = append(first, d.String())
		}
	}
	l.notify(notify.Event{Type: notify.Rejected, Revision: id, Subject: rev.Message, Reason: r.Reason, Diagnostics: first})
}

// reason is a rejection in one line: a budget refusal as "budget exceeded
// (what, where)", else the first error.
func reason(ds []diag.Diagnostic) string {
	for _, d := range ds {
		if s, ok := budget.Summary(d); ok {
			return s
		}
	}
	return first(ds)
}

func (l *Loop) rejected(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status.Rejected != nil && l.status.Rejected.Revision == id
}

func (l *Loop) apply(ctx context.Context, p *plan.Plan) {
	l.mu.Lock()
	l.status.Applying = p.Revision
	l.mu.Unlock()
	err := l.opts.Apply.Apply(ctx, p)
	l.opts.Metrics.reconciled(l.opts.Now(), err)
	l.mu.Lock()
	l.status.Applying = ""
	l.status.LastApply = l.opts.Now()
	l.tried, l.failed = p, err != nil
	if err != nil {
		l.retryIn = min(max(2*l.retryIn, l.opts.Retry), 5*time.Minute)
		l.retryAt = l.opts.Now().Add(l.retryIn)
		retryIn := l.retryIn
		l.status.LastError = fmt.Sprintf("apply %s: %v", short(p.Revision), err)
		l.mu.Unlock()
		l.opts.Logger.Warn("apply incomplete; the node goes on trying, and the plan is handed over again", "revision", p.Revision, "in", retryIn, "err", err)
		l.settleOutcome(p.Revision, Applying, err.Error())
		return
	}
	l.status.LastError = ""
	l.retryIn = 0
	changed := l.status.Applied != p.Revision
	first := !l.appliedOnce
	l.status.Applied, l.status.PlanHash, l.appliedOnce = p.Revision, l.goodHash, true
	l.mu.Unlock()
	l.settleOutcome(p.Revision, Applied, "")
	if changed {
		l.opts.Logger.Info("revision applied", "revision", p.Revision)
		l.opts.Metrics.applied(p.Revision)
		l.notify(notify.Event{Type: notify.Applied, Revision: p.Revision})
	}
	if changed || first {
		l.afterApply(p.Revision)
	}
}

// afterApply does the file IO that follows an apply outside the lock that
// Status readers take: record the revision, drop older snapshots, and
// anchor the source to it.
func (l *Loop) afterApply(rev string) {
	if a, ok := l.opts.Source.(Anchor); ok {
		a.Anchor(rev)
	}
	l.persist(rev)
	if snaps, ok := l.opts.Source.(Snapshots); ok {
		if err := snaps.Prune(l.keepSnapshots(rev)...); err != nil {
			l.opts.Logger.Warn("prune old snapshots", "err", err)
		}
	}
}

// settleOutcome records an apply's outcome for a revision still on its
// way in; a failed rollout keeps its mark through later passes.
func (l *Loop) settleOutcome(rev string, o Outcome, reason string) {
	if r, ok := l.opts.History.Get(rev); ok && (r.Outcome == Pending || r.Outcome == Applying) {
		l.opts.History.Mark(rev, o, reason)
	}
}

func (l *Loop) setError(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.LastError = err.Error()
}

func first(ds []diag.Diagnostic) string {
	for _, d := range ds {
		if d.Severity == diag.Error {
			return d.String()
		}
	}
	return ""
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func jitter(d time.Duration) time.Duration {
	if d < 10 {
		return 0
	}
	return rand.N(d / 10)
}

// ErrNoPlan is returned by callers that need a plan before the first good
// revision has been compiled.
var ErrNoPlan = errors.New("no good revision yet")
