package gitops

// This file is what survives a restart: the applied revision, the
// revisions a decision needs compiled again from their snapshots.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/reconciler/fleet"
	"berth.dev/berth/reconciler/source"
)

// Checkouter is what a Fetcher may also offer: any commit of the
// repository by its hash (berth pin of a revision whose snapshot is
// gone).
type Checkouter interface {
	Checkout(ctx context.Context, id string) (source.Revision, error)
}

// compileWanted compiles the revision a decision needs (a pin, a revert
// target) from its snapshot, off the loop.
func (l *Loop) compileWanted(ctx context.Context) {
	l.mu.Lock()
	want := l.want
	_, have := l.plans[want]
	l.mu.Unlock()
	if want == "" || have {
		return
	}
	var rev source.Revision
	var err error
	switch src := l.opts.Source.(type) {
	case Checkouter:
		rev, err = src.Checkout(ctx, want)
	case Snapshots:
		var ok bool
		if rev, ok = src.Snapshot(want); !ok {
			err = fmt.Errorf("no snapshot of %s on this node", short(want))
		}
	default:
		err = errors.New("the source keeps no old revisions")
	}
	if err != nil {
		l.opts.Logger.Error("the revision to run cannot be read; the node keeps what it runs", "revision", want, "err", err)
		l.setError(fmt.Errorf("revision %s: %w", short(want), err))
		return
	}
	p, diags := l.compile(ctx, rev)
	if errs, _ := diag.Count(diags); errs > 0 || p == nil {
		l.opts.Logger.Error("the revision to run does not compile; the node keeps what it runs", "revision", want, "reason", reason(diags))
		l.setError(fmt.Errorf("revision %s does not compile: %s", short(want), reason(diags)))
		return
	}
	l.mu.Lock()
	l.plans[want] = compiled{p: p, hash: p.Digest(), drained: drainedKey(p)}
	if l.inventory == nil {
		l.inventory = inventoryOf(p)
	}
	l.mu.Unlock()
	if _, ok := l.opts.History.Get(want); !ok {
		l.opts.History.seen(rev, Pending, "", nil)
	}
	l.decide()
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
	l.restoreOps()
	l.mu.Lock()
	l.drained = fleet.Drained(fleet.View{l.opts.Node: l.ops.Facts}.Cordons())
	l.status.Drained = l.drained
	l.mu.Unlock()
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
	hash := p.Digest()
	l.mu.Lock()
	l.good, l.goodHash, l.goodKey = p, hash, ""
	l.plans[applied] = compiled{p: p, hash: hash, drained: drainedKey(p)}
	l.inventory = inventoryOf(p)
	l.mu.Unlock()
	l.opts.Logger.Info("resumed the last applied revision", "revision", applied)
}
