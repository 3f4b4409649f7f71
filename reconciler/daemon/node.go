package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/containerd"
	"berth.dev/berth/nodes/dns"
	"berth.dev/berth/nodes/hostroutes"
	"berth.dev/berth/nodes/iptables"
	"berth.dev/berth/nodes/volumes"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/store"
)

// Node is this node's drivers and reconciler. They start with the first
// good plan, because the pod network needs the node's pod CIDR, which the
// plan's inventory decides.
type Node struct {
	cfg *Config

	mu      sync.Mutex
	rt      *containerd.Runtime
	router  *iptables.Router
	rec     *reconciler.Reconciler
	db      *store.DB
	podCIDR string
	routes  hostRouter
	peers   *peers
	syncs   *driverMetrics
	// drainSince is when this node first saw a plan without itself.
	drainSince time.Time
	// onDrift is told the repairs of a converged node (notifications).
	onDrift func(rev string, repairs []string)
	// current is the plan the node runs now: containers take their
	// Service variables from its table when they are created.
	current atomic.Pointer[plan.Plan]
	// dns is the node's cluster DNS (nil with ClusterDNS off).
	dns *dns.Server
	// holds are the pods disruption budgets keep here (hold.go).
	holds holds
	// onPass is told every pass of the reconciler's loop (the pass
	// metrics; berth apply's progress); set before Start.
	onPass func(reconciler.Result, time.Duration, error)
	// stopLoop ends the reconciler's loop, and loopDone is closed when it
	// has; Close waits for it, so no pass runs on closed drivers.
	stopLoop context.CancelFunc
	loopDone chan struct{}
}

// NewNode prepares the node; Start happens on the first Apply.
func NewNode(cfg *Config) *Node {
	n := &Node{cfg: cfg, routes: hostroutes.New(cfg.StateDir)}
	n.peers = newPeers(cfg, func() local {
		if r := n.Reconciler(); r != nil {
			return r
		}
		return nil
	}, func() {
		if r := n.Reconciler(); r != nil {
			r.Poke()
		}
	})
	n.peers.budgets = n.localBudgets
	return n
}

// Start brings the drivers up for a plan and starts the reconciler's loop
// (time-driven progress: rollout steps, Job back-off, CronJob schedules).
func (n *Node) Start(ctx context.Context, p *plan.Plan) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rec != nil {
		return nil
	}
	np, err := p.NodePlan(n.cfg.Node)
	if err != nil {
		return err
	}
	podCIDR := np.Node.PodCIDR
	log := n.cfg.Logger
	var resolv *containerd.DNSConfig
	var srv *dns.Server
	stopDNS := func() {
		if srv != nil {
			_ = srv.Close()
		}
	}
	if n.cfg.ClusterDNS {
		srv, resolv, err = n.startDNS(ctx, p, podCIDR)
		if err != nil {
			return err
		}
	}
	rt, err := containerd.New(ctx, containerd.Options{
		Address:            n.cfg.ContainerdAddress,
		Namespace:          n.cfg.ContainerdNamespace,
		StateDir:           n.cfg.StateDir,
		RunDir:             n.cfg.RunDir,
		InsecureRegistries: n.cfg.InsecureRegistries,
		Bridge:             n.cfg.Bridge,
		PodCIDR:            podCIDR,
		Logger:             log.With("driver", "containerd"),
		OnPull:             n.syncs.pulled,
		ServiceEnv:         n.serviceEnv,
		DNS:                resolv,
		SeccompProfileRoot: n.cfg.SeccompProfileRoot,
		NodeName:           np.Node.Name,
		NodeIP:             np.Node.Address,
		Allocatable:        plan.Allocatable{MilliCPU: np.Node.Capacity.MilliCPU, Memory: np.Node.Capacity.Memory},
	})
	if err != nil {
		stopDNS()
		return fmt.Errorf("start the pod runtime: %w", err)
	}
	router, err := iptables.New(iptables.Options{
		IPTables:           n.cfg.IPTables,
		ChainPrefix:        n.cfg.ChainPrefix,
		NodeIPs:            n.cfg.NodeIPs,
		PodCIDR:            podCIDR,
		LocalhostNodePorts: true,
		Logger:             log.With("driver", "iptables"),
		OnSync:             n.syncs.observe,
	})
	if err != nil {
		rt.Close()
		stopDNS()
		return fmt.Errorf("start the service router: %w", err)
	}
	db, err := store.Open(n.cfg.StateDir)
	if err != nil {
		rt.Close()
		stopDNS()
		return fmt.Errorf("open the state store: %w", err)
	}
	var routes reconciler.Router = router
	if srv != nil {
		routes = dnsRoutes{router, srv}
	}
	n.dns = srv
	n.rt, n.router, n.db, n.podCIDR = rt, router, db, podCIDR
	n.rec = reconciler.New(reconciler.Options{
		Runtime: rt,
		Router:  routes,
		Store:   db,
		Logger:  log.With("component", "reconciler"),
		Node:    n.cfg.Node,
		Peers:   n.peers,
		OnDrift: n.onDrift,
		Drainer: router,
		// The reconciler's timer is the node's one resync: it repairs
		// the pods and service rules, and the host routes with them.
		Resync:   n.cfg.Resync,
		OnResync: n.resyncRoutes,
		OnPass:   n.onPass,
		// The runtime's volume root (containerd.New): its claims beside it.
		Claims: volumes.New(filepath.Join(n.cfg.StateDir, "volumes")),
	})
	lctx, stop := context.WithCancel(ctx)
	n.stopLoop, n.loopDone = stop, make(chan struct{})
	go func() {
		defer close(n.loopDone)
		_ = n.rec.Run(lctx, nil) // plans come with Apply
	}()
	go rt.RunImageGC(ctx, n.cfg.ImageGC, 5*time.Minute)
	// Rules someone removed or altered come back without a plan change.
	go router.Run(ctx, 30*time.Second)
	return nil
}

// Apply hands p to the reconciler's loop and returns the outcome of the
// one pass the loop runs for it (the GitOps loop's Applier).
func (n *Node) Apply(ctx context.Context, p *plan.Plan) error {
	res, passed, err := n.apply(ctx, p)
	if err != nil || !passed {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d actions failed (see berth status)", res.Failed)
	}
	return nil
}

// apply prepares the node for p (drivers, DNS, host routes, peers) and
// asks the reconciler's loop for one pass; passed is false when no pass
// ran (a node leaving the inventory keeps its pods a while), err is the
// preparation's error or the pass's.
func (n *Node) apply(ctx context.Context, p *plan.Plan) (res reconciler.Result, passed bool, err error) {
	if err := reservedPorts(p, n.cfg); err != nil {
		return res, false, err
	}
	given := p
	np, err := p.NodePlan(n.cfg.Node)
	if err != nil {
		// A node that a commit removed from the inventory drains: it
		// applies an empty part, so its pods stop here while the others
		// start them. A node that never was in an applied plan (a typo in
		// --node) changes nothing.
		drained, ok := n.drainPlan(p)
		if !ok {
			return res, false, err
		}
		if wait := n.drainWait(ctx, p); wait > 0 {
			n.cfg.Logger.Warn("this node left the inventory; its pods keep serving while the other nodes take over",
				"revision", p.Revision, "drain_in", wait.Round(time.Second))
			return res, false, nil
		}
		n.cfg.Logger.Warn("this node left the inventory; draining its pods", "revision", p.Revision)
		p, np = drained, &drained.Nodes[len(drained.Nodes)-1]
	} else {
		n.mu.Lock()
		n.drainSince = time.Time{}
		n.mu.Unlock()
	}
	if held := n.hold(ctx, given, p); held != p {
		p = held
		np, _ = p.NodePlan(n.cfg.Node)
	}
	n.current.Store(p)
	if err := n.Start(ctx, p); err != nil {
		return res, false, err
	}
	n.mu.Lock()
	srv := n.dns
	n.mu.Unlock()
	if srv != nil {
		// Answered before any pod is touched: a new Service resolves as
		// soon as the node has the commit.
		srv.SetServices(p.Services)
	}
	if np.Node.PodCIDR != n.podCIDR {
		n.cfg.Logger.Warn("this node's pod CIDR changed in the inventory; restart the daemon to renumber its pods",
			"running", n.podCIDR, "planned", np.Node.PodCIDR)
	}
	if err := n.routes.Sync(wantedRoutes(p, n.cfg.Node)); err != nil {
		n.cfg.Logger.Warn("routes to other nodes' pods", "err", err)
	}
	n.peers.update(ctx, p)
	// One pass, run by the reconciler's loop, which keeps p for the
	// passes that follow (rollout steps, Job back-off, resync).
	res, err = n.Reconciler().Apply(ctx, p)
	return res, true, err
}

// resyncRoutes puts back the routes to other nodes' pod CIDRs that
// someone removed, on the reconciler's resync timer.
func (n *Node) resyncRoutes(_ context.Context, p *plan.Plan) {
	if err := n.routes.Sync(wantedRoutes(p, n.cfg.Node)); err != nil {
		n.cfg.Logger.Warn("routes to other nodes' pods", "err", err)
	}
}

// serviceEnv is the kubelet's Service variables of namespace ns, from
// the plan the node runs now.
func (n *Node) serviceEnv(ns string) []plan.EnvVar {
	p := n.current.Load()
	if p == nil {
		return nil
	}
	return plan.ServiceEnv(p.ServicesIn(ns))
}

// Reconciler returns the reconciler once started.
func (n *Node) Reconciler() *reconciler.Reconciler {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rec
}

// Observe implements nodeapi.Pods.
func (n *Node) Observe(ctx context.Context) (nodes.NodeState, error) {
	n.mu.Lock()
	rt := n.rt
	n.mu.Unlock()
	if rt == nil {
		return nodes.NodeState{}, nil
	}
	return rt.Observe(ctx)
}

// Logs implements nodeapi.Pods.
func (n *Node) Logs(ctx context.Context, key, container string, follow, previous bool, w io.Writer) error {
	n.mu.Lock()
	rt := n.rt
	n.mu.Unlock()
	if rt == nil {
		return errNotReady
	}
	return rt.Logs(ctx, key, container, follow, previous, w)
}

// Status implements nodeapi.Workloads.
func (n *Node) Status() any {
	if r := n.Reconciler(); r != nil {
		return r.Status()
	}
	return nil
}

// Promote implements nodeapi.Workloads.
func (n *Node) Promote(name string) error {
	if r := n.Reconciler(); r != nil {
		return r.Promote(name)
	}
	return errNotReady
}

// Abort implements nodeapi.Workloads.
func (n *Node) Abort(name string) error {
	if r := n.Reconciler(); r != nil {
		return r.Abort(name)
	}
	return errNotReady
}

// Close stops the drivers; pods keep running and service rules stay
// (cluster DNS stops with the daemon).
func (n *Node) Close() error {
	n.mu.Lock()
	stop, done := n.stopLoop, n.loopDone
	n.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	n.stopDNS()
	n.mu.Lock()
	defer n.mu.Unlock()
	var err error
	if n.db != nil {
		err = n.db.Close()
	}
	if n.rt != nil {
		if e := n.rt.Close(); err == nil {
			err = e
		}
	}
	return err
}

// drainPlan returns p with an empty part for this node, when this node ran
// an earlier plan (it is a member that left, not a misnamed node).
func (n *Node) drainPlan(p *plan.Plan) (*plan.Plan, bool) {
	n.mu.Lock()
	cidr := n.podCIDR
	n.mu.Unlock()
	if cidr == "" {
		cidr = n.lastPodCIDR()
	}
	if cidr == "" {
		return nil, false
	}
	cp := *p
	cp.Nodes = append(append([]plan.NodePlan(nil), p.Nodes...), plan.NodePlan{Node: plan.Node{Name: n.cfg.Node, PodCIDR: cidr}})
	return &cp, true
}

// lastPodCIDR is this node's pod CIDR in the plan it applied last, from
// the progress store (after a restart).
func (n *Node) lastPodCIDR() string {
	if last := n.LastApplied(); last != nil {
		if np, err := last.NodePlan(n.cfg.Node); err == nil {
			return np.Node.PodCIDR
		}
	}
	return ""
}

// LastApplied is the plan this node applied last (its Secret values
// redacted), from the progress store, or nil before the first.
func (n *Node) LastApplied() *plan.Plan {
	n.mu.Lock()
	db := n.db
	n.mu.Unlock()
	var raw []byte
	if db != nil {
		_, raw, _ = reconciler.LastApplied(db)
	} else {
		// The reconciler has not started: its store is not open yet.
		d, err := store.Open(n.cfg.StateDir)
		if err != nil {
			return nil
		}
		_, raw, _ = reconciler.LastApplied(d)
		d.Close()
	}
	if len(raw) == 0 {
		return nil
	}
	var last plan.Plan
	if json.Unmarshal(raw, &last) != nil {
		return nil
	}
	return &last
}

// drainWait says how long a leaving node still keeps its pods: the other
// nodes apply the same commit independently, and stopping at once would
// refuse connections that their rules still send here. The first call
// schedules the drain for when the delay has passed.
func (n *Node) drainWait(ctx context.Context, p *plan.Plan) time.Duration {
	delay := n.cfg.DrainDelay
	n.mu.Lock()
	first := n.drainSince.IsZero()
	if first {
		n.drainSince = time.Now()
	}
	wait := delay - time.Since(n.drainSince)
	n.mu.Unlock()
	if wait <= 0 {
		return 0
	}
	if first {
		time.AfterFunc(wait, func() {
			if err := n.Apply(ctx, p); err != nil && ctx.Err() == nil {
				n.cfg.Logger.Warn("drain", "err", err)
			}
		})
	}
	return wait
}
