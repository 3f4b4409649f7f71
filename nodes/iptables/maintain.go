package iptables

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Check compares the live rules with the last synced ones (chains and the
// jump rules into them). On drift the next Sync starts from the live rules
// and repairs them; Repair does both.
func (r *Router) Check(ctx context.Context) (drifted bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.check(ctx)
}

func (r *Router) check(ctx context.Context) (bool, error) {
	if r.shared == nil {
		return true, nil
	}
	live, err := r.readLive(ctx)
	if err != nil {
		return false, err
	}
	d := Diff(r.rr.ruleset(r.order, r.shared), live)
	drifted := !d.Empty()
	if drifted {
		r.log.Warn("iptables drift", "rewrite", len(d.Write[TableNAT])+len(d.Write[TableFilter]),
			"delete", len(d.Delete[TableNAT])+len(d.Delete[TableFilter]))
	}
	for _, j := range r.jumps() {
		ok, err := r.ipt.Exists(j.table, j.chain, j.spec...)
		if err != nil {
			return false, fmt.Errorf("iptables: check jump %s/%s: %w", j.table, j.chain, err)
		}
		if !ok {
			r.log.Warn("iptables drift: jump rule missing", "table", j.table, "chain", j.chain)
			drifted = true
		}
	}
	if drifted {
		r.synced = false
	}
	return drifted, nil
}

// Repair checks for drift and, when there is some, rewrites the last
// synced rules. It returns whether it repaired anything.
func (r *Router) Repair(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shared == nil {
		return false, nil
	}
	drifted, err := r.check(ctx)
	if err != nil || !drifted {
		return false, err
	}
	var st SyncStats
	return true, r.full(ctx, &st)
}

// Run repairs drift every interval (default 30 s) until ctx ends, so a
// rule removed by hand comes back without a plan change. On a large node
// the interval stretches to ten times the duration of a check.
func (r *Router) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	wait := interval
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		if repaired, err := r.Repair(ctx); err != nil {
			r.log.Error("iptables drift repair", "err", err)
		} else if repaired {
			r.log.Info("iptables drift repaired")
		}
		// Reading a big ruleset back costs CPU (10,000 services: about
		// 0.5 s on iptables-nft): keep the check under a tenth of the time.
		wait = max(interval, 10*time.Since(start))
	}
}

// Cleanup removes every chain with this Router's prefix and the jump
// rules into them, and nothing else. Stopping the daemon does not call
// it: rules stay so traffic flows while berth restarts.
func (r *Router) Cleanup(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.order, r.shared, r.synced = nil, nil, false
	var errs []error
	for _, j := range r.jumps() {
		// A jump may have been added twice (by hand, or a crash between
		// check and insert): delete until none is left.
		for range 10 {
			ok, err := r.ipt.Exists(j.table, j.chain, j.spec...)
			if err != nil || !ok {
				break // chain or target gone: no jump to delete
			}
			if err := r.ipt.Delete(j.table, j.chain, j.spec...); err != nil {
				errs = append(errs, fmt.Errorf("iptables: delete jump %s/%s: %w", j.table, j.chain, err))
				break
			}
		}
	}
	live, err := r.readLive(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, text := range DeleteTexts(live, r.maxRules) {
		if _, err := r.exec(ctx, text, r.restoreBin, "-w", "--noflush"); err != nil {
			return errors.Join(append(errs, fmt.Errorf("iptables: delete berth chains: %w", err))...)
		}
	}
	return errors.Join(errs...)
}
