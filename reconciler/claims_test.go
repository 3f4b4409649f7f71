package reconciler

import (
	"slices"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler/store"
)

// claimLog is a Claims driver that records what it deleted.
type claimLog struct {
	mu      sync.Mutex
	deleted []string
}

func (c *claimLog) DeleteClaim(ns, claim string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted = append(c.deleted, ns+"/"+claim)
	return nil
}

func (c *claimLog) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.deleted
	c.deleted = nil
	slices.Sort(out)
	return out
}

// mkClaimSet is mkSet with claim templates data and logs under policy
// (whenDeleted, whenScaled); "" policies mean no retention in the plan.
func mkClaimSet(n int, whenDeleted, whenScaled string) deploy {
	d := mkSet("a", n, plan.Strategy{Type: "RollingUpdate", MaxUnavailable: 1, PodManagementPolicy: "Parallel"})
	if whenDeleted != "" {
		d.w.ClaimRetention = &plan.ClaimRetention{Templates: []string{"data", "logs"}, WhenDeleted: whenDeleted, WhenScaled: whenScaled}
	}
	return d
}

// The retention policy deletes an ordinal's claims once the set is
// scaled below it and its pod is gone (whenScaled), and all of them once
// the set left the plan (whenDeleted); Retain keeps them, and a claim is
// never deleted while its pod is still here.
func TestClaimRetention(t *testing.T) {
	for _, c := range []struct {
		name                    string
		whenDeleted, whenScaled string
		scaled, deleted         []string
	}{
		{name: "retain"},
		{name: "retain both", whenDeleted: "Retain", whenScaled: "Retain"},
		{name: "scaled", whenDeleted: "Retain", whenScaled: "Delete", scaled: []string{"default/data-web-2", "default/logs-web-2"}},
		{name: "deleted", whenDeleted: "Delete", whenScaled: "Retain",
			deleted: []string{"default/data-web-0", "default/data-web-1", "default/data-web-2", "default/logs-web-0", "default/logs-web-1", "default/logs-web-2"}},
		{name: "both", whenDeleted: "Delete", whenScaled: "Delete", scaled: []string{"default/data-web-2", "default/logs-web-2"},
			deleted: []string{"default/data-web-0", "default/data-web-1", "default/logs-web-0", "default/logs-web-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			claims := &claimLog{}
			e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1, Claims: claims})
			e.pass(mkPlan("r1", []deploy{mkClaimSet(3, c.whenDeleted, c.whenScaled)}))
			e.want("web-", "web-0", "web-1", "web-2")
			// Scaled down: web-2's pod goes in this pass, its claims in
			// the next one at the earliest.
			down := mkPlan("r2", []deploy{mkClaimSet(2, c.whenDeleted, c.whenScaled)})
			e.pass(down)
			e.want("web-", "web-0", "web-1")
			if got := claims.take(); len(got) != 0 {
				t.Fatalf("claims deleted in the pass that removed their pod: %v", got)
			}
			e.pass(down)
			if got := claims.take(); !slices.Equal(got, c.scaled) {
				t.Fatalf("after the scale down, deleted %v, want %v", got, c.scaled)
			}
			e.pass(down)
			if got := claims.take(); len(got) != 0 {
				t.Fatalf("deleted again: %v", got)
			}
			// The set leaves the plan.
			gone := mkPlan("r3", nil)
			e.pass(gone)
			e.want("web-")
			e.pass(gone)
			if got := claims.take(); !slices.Equal(got, c.deleted) {
				t.Fatalf("after the set's deletion, deleted %v, want %v", got, c.deleted)
			}
			e.pass(gone)
			if got := claims.take(); len(got) != 0 {
				t.Fatalf("deleted again: %v", got)
			}
			e.rec.mu.Lock()
			left := len(e.rec.state.Claims)
			e.rec.mu.Unlock()
			if left != 0 {
				t.Errorf("%d claim holds left", left)
			}
		})
	}
}

// An ordinal that moved to another node is not scaled away: its claim
// here stays until the set is scaled below it.
func TestClaimRetentionMovedOrdinal(t *testing.T) {
	e := newEnv(t)
	claims := &claimLog{}
	e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1, Claims: claims})
	e.pass(mkPlan("r1", []deploy{mkClaimSet(2, "Delete", "Delete")}))
	moved := mkClaimSet(2, "Delete", "Delete")
	moved.pods = moved.pods[:1] // web-1 now runs on another node
	p := mkPlan("r2", []deploy{moved})
	e.pass(p)
	e.pass(p)
	e.want("web-", "web-0")
	if got := claims.take(); len(got) != 0 {
		t.Fatalf("deleted the claims of an ordinal that moved: %v", got)
	}
	down := mkClaimSet(1, "Delete", "Delete")
	e.pass(mkPlan("r3", []deploy{down}))
	if got := claims.take(); !slices.Equal(got, []string{"default/data-web-1", "default/logs-web-1"}) {
		t.Fatalf("after the scale down, deleted %v", got)
	}
}

// The holds survive a restart: a set deleted while the daemon was down
// still has its claims deleted.
func TestClaimRetentionRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t)
	claims := &claimLog{}
	var db *store.DB
	open := func() {
		if db != nil {
			db.Close()
		}
		var err error
		if db, err = store.Open(dir); err != nil {
			t.Fatal(err)
		}
		e.rec = New(Options{Runtime: e.rt, Router: e.router, Store: db, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1, Claims: claims})
	}
	open()
	defer func() { db.Close() }()
	e.pass(mkPlan("r1", []deploy{mkClaimSet(1, "Delete", "Retain")}))
	open()
	gone := mkPlan("r2", nil)
	e.pass(gone)
	e.pass(gone)
	if got := claims.take(); !slices.Equal(got, []string{"default/data-web-0", "default/logs-web-0"}) {
		t.Fatalf("after a restart and the set's deletion, deleted %v", got)
	}
}

// A policy that starts deleting in the commit that scales the set down
// still deletes the claims of the ordinal it scales away: the running
// pod's claims are held before it goes, as the controller sets their
// owner before it deletes the pod.
func TestClaimRetentionPolicyWithScaleDown(t *testing.T) {
	e := newEnv(t)
	claims := &claimLog{}
	e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1, Claims: claims})
	e.pass(mkPlan("r1", []deploy{mkClaimSet(2, "", "")}))
	down := mkPlan("r2", []deploy{mkClaimSet(1, "Retain", "Delete")})
	e.pass(down)
	e.want("web-", "web-0")
	e.pass(down)
	if got := claims.take(); !slices.Equal(got, []string{"default/data-web-1", "default/logs-web-1"}) {
		t.Fatalf("deleted %v, want web-1's claims", got)
	}
}

// A claim another pod planned here mounts is never deleted, even when
// the set that held it says so (two sets can name one claim).
func TestClaimRetentionInUse(t *testing.T) {
	e := newEnv(t)
	claims := &claimLog{}
	e.rec = New(Options{Runtime: e.rt, Router: e.router, Clock: e.clock, Node: "n1", RetryDelay: time.Millisecond, Retries: -1, Claims: claims})
	e.pass(mkPlan("r1", []deploy{mkClaimSet(1, "Delete", "Retain")}))
	other := mkDeploy("Deployment", "app", "x", 1, plan.Strategy{Type: "RollingUpdate"})
	other.pods[0].Spec.Volumes = []plan.Volume{{Name: "d", Kind: "persistentVolumeClaim", LocalClaim: "data-web-0"}}
	p := mkPlan("r2", []deploy{other})
	e.pass(p)
	e.pass(p)
	if got := claims.take(); !slices.Equal(got, []string{"default/logs-web-0"}) {
		t.Fatalf("deleted %v, want only logs-web-0 (data-web-0 is mounted by app)", got)
	}
}
