// Package gitops is the daemon's loop: it follows a source, compiles each
// new revision, applies the plan of the newest good one, and repairs drift
// on a timer. A revision that fails to compile is never applied: the node
// keeps its last good plan and the error is reported (Flux's "stalled").
//
// Fetching and compiling run off the loop's critical path, under
// deadlines: while a revision is fetched or compiled (or after it was
// refused), the loop goes on re-applying the last good plan, so drift is
// repaired even while a hostile commit costs what its budgets allow.
package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/plandiff"
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
	// Resync is how often the good plan is re-applied without a new
	// revision, to repair drift (default 60s).
	Resync time.Duration
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
}

// Loop is the GitOps loop of one node.
type Loop struct {
	opts    Options
	trigger chan struct{}

	mu     sync.Mutex
	status Status
	good   *plan.Plan
	// goodHash is Hash(good), computed once per compiled revision rather
	// than on every resync.
	goodHash    string
	appliedOnce bool
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
	if opts.Resync <= 0 {
		opts.Resync = 60 * time.Second
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
	return &Loop{opts: opts, trigger: make(chan struct{}, 1)}
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
	resync := time.NewTicker(l.opts.Resync)
	defer resync.Stop()
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
	l.applyGood(ctx) // a resumed plan repairs drift before the fetch ends
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
		case <-resync.C:
			l.applyGood(ctx)
		}
	}
}

// Step runs one iteration synchronously: fetch when asked, compile a new
// revision, and apply the good plan. It is exported for tests.
func (l *Loop) Step(ctx context.Context, fetch bool) {
	if fetch {
		l.fetchAndCompile(ctx)
	}
	l.applyGood(ctx)
}

func (l *Loop) applyGood(ctx context.Context) {
	l.mu.Lock()
	good := l.good
	l.mu.Unlock()
	if good != nil && ctx.Err() == nil {
		l.apply(ctx, good)
	}
}

func (l *Loop) fetchAndCompile(ctx context.Context) {
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
	known := !changed && l.good != nil && l.good.Revision == rev.ID
	l.mu.Unlock()
	if known || (!changed && l.rejected(rev.ID)) {
		return
	}
	p, diags := l.compile(ctx, rev)
	if errs, _ := diag.Count(diags); errs > 0 || p == nil {
		l.reject(rev, diags)
		return
	}
	l.opts.Logger.Info("new revision compiled", "revision", rev.ID, "message", rev.Message)
	hash := Hash(p)
	l.mu.Lock()
	prev := l.good
	l.good, l.goodHash = p, hash
	l.status.Rejected = nil
	l.mu.Unlock()
	l.opts.History.seen(rev, Pending, "", plandiff.Compare(prev, p))
	l.opts.History.supersede(rev.ID)
	l.opts.Metrics.revisionSeen(start)
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
	start := l.opts.Now()
	err := l.opts.Apply.Apply(ctx, p)
	l.opts.Metrics.reconciled(start, l.opts.Now(), err)
	l.mu.Lock()
	l.status.Applying = ""
	l.status.LastApply = l.opts.Now()
	if err != nil {
		l.status.LastError = fmt.Sprintf("apply %s: %v", short(p.Revision), err)
		l.mu.Unlock()
		l.opts.Logger.Warn("apply incomplete; retrying at the next resync", "revision", p.Revision, "err", err)
		l.settle(p.Revision, Applying, err.Error())
		return
	}
	l.status.LastError = ""
	changed := l.status.Applied != p.Revision
	first := !l.appliedOnce
	l.status.Applied, l.status.PlanHash, l.appliedOnce = p.Revision, l.goodHash, true
	l.mu.Unlock()
	l.settle(p.Revision, Applied, "")
	if changed {
		l.opts.Logger.Info("revision applied", "revision", p.Revision)
		l.opts.Metrics.applied(p.Revision)
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
		if err := snaps.Prune(rev); err != nil {
			l.opts.Logger.Warn("prune old snapshots", "err", err)
		}
	}
}

// settle records an apply's outcome for a revision still on its way in; a
// failed rollout keeps its mark through later passes.
func (l *Loop) settle(rev string, o Outcome, reason string) {
	if r, ok := l.opts.History.Get(rev); ok && (r.Outcome == Pending || r.Outcome == Applying) {
		l.opts.History.Mark(rev, o, reason)
	}
}

func (l *Loop) setError(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.LastError = err.Error()
}

// Hash is the SHA-256 of the plan's JSON document.
func Hash(p *plan.Plan) string {
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type saved struct {
	Revision string `json:"revision"`
}

// persist records the applied revision, so a restarted daemon reports it
// and does not treat an unchanged head as new.
func (l *Loop) persist(rev string) {
	if l.opts.StateDir == "" {
		return
	}
	b, _ := json.Marshal(saved{Revision: rev})
	tmp := filepath.Join(l.opts.StateDir, "gitops.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		_ = os.Rename(tmp, filepath.Join(l.opts.StateDir, "gitops.json"))
	}
}

func (l *Loop) restore() {
	if l.opts.StateDir == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(l.opts.StateDir, "gitops.json"))
	if err != nil {
		return
	}
	var s saved
	if json.Unmarshal(b, &s) == nil {
		l.mu.Lock()
		l.status.Applied = s.Revision
		l.mu.Unlock()
		if a, ok := l.opts.Source.(Anchor); ok && s.Revision != "" {
			a.Anchor(s.Revision)
		}
	}
}

// resume compiles the revision applied before a restart, so the node keeps
// its last good plan (and repairs drift) even if the head is now bad.
func (l *Loop) resume(ctx context.Context) {
	snaps, ok := l.opts.Source.(Snapshots)
	l.mu.Lock()
	applied := l.status.Applied
	l.mu.Unlock()
	if !ok || applied == "" {
		return
	}
	rev, ok := snaps.Snapshot(applied)
	if !ok {
		return
	}
	p, diags := l.compile(ctx, rev)
	if errs, _ := diag.Count(diags); errs > 0 || p == nil {
		l.opts.Logger.Warn("the revision applied before the restart no longer compiles; waiting for a good head", "revision", applied)
		return
	}
	hash := Hash(p)
	l.mu.Lock()
	l.good, l.goodHash = p, hash
	l.mu.Unlock()
	l.opts.Logger.Info("resumed the last applied revision", "revision", applied)
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
