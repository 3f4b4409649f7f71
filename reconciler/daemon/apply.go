package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/nodes/containerd"
	"berth.dev/berth/nodes/hostroutes"
	"berth.dev/berth/nodes/iptables"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/gitops"
	"berth.dev/berth/reconciler/source"
	"berth.dev/berth/reconciler/store"
)

// Progress is called after every pass of Apply.
type Progress func(res reconciler.Result, st reconciler.Status)

// ErrInvalid is returned by Apply when the manifests have errors; nothing
// on the node was changed.
var ErrInvalid = errors.New("manifests have errors; nothing was changed")

// Apply is `berth apply PATH`: compile the directory and converge this
// node to its plan, reporting progress, until converged or ctx ends.
// Diagnostics are returned for printing (warnings with success).
func Apply(ctx context.Context, cfg Config, path string, progress Progress) ([]diag.Diagnostic, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := checkStateStore(&cfg); err != nil {
		return nil, err
	}
	comp, err := NewCompiler(&cfg)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	rev, err := source.DirRevision(abs)
	if err != nil {
		return nil, err
	}
	// berth apply converges this node once and tells the other nodes
	// nothing: no gossip.
	cfg.PeerPort = 0
	node := NewNode(&cfg)
	defer node.Close()
	// Every pass of the reconciler's loop, the Apply's first, is told
	// here; the newest replaces one not yet read.
	passes := make(chan pass, 1)
	node.onPass = func(res reconciler.Result, _ time.Duration, err error) {
		for {
			select {
			case passes <- pass{res, err}:
				return
			default:
				select {
				case <-passes:
				default:
				}
			}
		}
	}
	comp.previous = node.LastApplied
	p, diags := comp.Compile(ctx, rev)
	if p == nil {
		return diags, ErrInvalid
	}
	if _, err := p.NodePlan(cfg.Node); err != nil {
		return diags, err
	}
	// The same way as the daemon's: one request to the reconciler's
	// loop, which then passes on its own (rollout steps, readiness).
	if _, passed, err := node.apply(ctx, p); err != nil && !passed {
		return diags, err // nothing ran: the drivers or the plan's ports
	}
	for {
		select {
		case <-ctx.Done():
			return diags, fmt.Errorf("not converged: %w", ctx.Err())
		case ps := <-passes:
			if progress != nil {
				progress(ps.res, node.Reconciler().Status())
			}
			if ps.err != nil && ctx.Err() == nil {
				cfg.Logger.Warn("reconcile pass", "err", ps.err)
			}
			if ps.res.Converged {
				return diags, nil
			}
		}
	}
}

// pass is one pass of the reconciler's loop, for berth apply's progress.
type pass struct {
	res reconciler.Result
	err error
}

// Cleanup is `berth cleanup`: it removes every pod berth runs on this node,
// its service rules and its routes, and the state it keeps about them.
// Persistent volume and hostPath data are never deleted.
func Cleanup(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	var errs []error
	rt, err := containerd.New(ctx, containerd.Options{
		Address: cfg.ContainerdAddress, Namespace: cfg.ContainerdNamespace, StateDir: cfg.StateDir, RunDir: cfg.RunDir,
		Bridge: cfg.Bridge, PodCIDR: cfg.PodCIDR, Logger: cfg.Logger,
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("pods: %w", err))
	} else {
		st, err := rt.Observe(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, p := range st.Pods {
			if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
				errs = append(errs, fmt.Errorf("remove pod %s: %w", p.Key(), err))
			}
		}
		rt.Close()
	}
	router, err := iptables.New(iptables.Options{IPTables: cfg.IPTables, ChainPrefix: cfg.ChainPrefix, NoSysctls: true, Logger: cfg.Logger})
	if err == nil {
		err = router.Cleanup(ctx)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("service rules: %w", err))
	}
	if err := hostroutes.Remove(cfg.StateDir); err != nil {
		errs = append(errs, fmt.Errorf("routes: %w", err))
	}
	for _, f := range []string{store.FileName, "gitops.json", gitops.OpsFile, "git"} {
		if err := os.RemoveAll(filepath.Join(cfg.StateDir, f)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkStateStore opens the state store before anything runs: a damaged
// one stops the start with a *store.CorruptError (what to do in its
// text), or, with ResetState, is moved aside for an empty one.
func checkStateStore(cfg *Config) error {
	db, err := store.Open(cfg.StateDir)
	var corrupt *store.CorruptError
	if errors.As(err, &corrupt) && cfg.ResetState {
		aside, merr := store.MoveAside(cfg.StateDir, time.Now())
		if merr != nil {
			return errors.Join(err, merr)
		}
		cfg.Logger.Warn("the state store was damaged: moved aside, starting with an empty one (--reset-state); "+
			"finished Jobs may run again and rollouts start over", "moved_to", aside, "damage", corrupt.Err)
		db, err = store.Open(cfg.StateDir)
	}
	if err != nil {
		return err
	}
	return db.Close()
}
