// Package reconciler turns one node's part of the plan and what really runs
// on the node into actions, executes them through the node drivers, and
// carries what unfolds over time: rollouts (Recreate, RollingUpdate,
// blue/green, canary), Jobs and CronJobs.
//
// The decisions are pure: Diff and Routes take plain values (the desired
// state, the observed state, the persisted progress and the time) and
// return actions and routes. The Reconciler does the IO: it observes, writes
// the progress the actions imply to the store before running them, runs
// them, and programs the service routes.
package reconciler

import (
	"context"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler/store"
)

// Runtime runs pods on the node (nodes/containerd, nodes/fake). Key is
// "namespace/name". Pod supervision (restartPolicy, probes, readiness) is
// the driver's job; Observe reports the result.
type Runtime interface {
	Observe(ctx context.Context) (nodes.NodeState, error)
	// CreatePod is idempotent: pull, network, volumes, start.
	CreatePod(ctx context.Context, p *plan.Pod) error
	// StopPod stops the containers (preStop, SIGTERM, SIGKILL when the
	// grace period ends at deadline) and keeps status and logs. A zero
	// deadline is the pod's terminationGracePeriodSeconds after the first
	// StopPod of this pod.
	StopPod(ctx context.Context, key string, deadline time.Time) error
	// RemovePod stops the pod as StopPod does, then deletes all of it
	// except hostPath and PV data.
	RemovePod(ctx context.Context, key string, deadline time.Time) error
	// UpdatePodConfig rewrites configMap/secret files and /etc/hosts in place.
	UpdatePodConfig(ctx context.Context, p *plan.Pod) error
}

// Router programs the node's service routes and the NetworkPolicies it
// enforces, in one write (nodes/iptables, nodes/fake).
type Router interface {
	SyncAll(ctx context.Context, routes []nodes.ServiceRoute, fw nodes.Firewall) error
}

// Drainer waits until the connections a pod was serving when it left the
// service rules are over, or until until (nodes/iptables).
type Drainer interface {
	Drain(ctx context.Context, ips []string, until time.Time) (active int, err error)
}

// Claims deletes the data of a claim berth's local provisioner backs
// (nodes/volumes), as a StatefulSet's retention policy asks.
type Claims interface {
	DeleteClaim(namespace, claim string) error
}

// Store persists progress (reconciler/store: a bbolt file, or memory).
type Store interface {
	Save(recs []store.Record) error
	Load(bucket string) (map[string][]byte, error)
}

// Clock tells the time; tests inject a manual one (nodes/fake.Clock).
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
