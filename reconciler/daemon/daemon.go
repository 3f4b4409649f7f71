// Package daemon assembles `berth daemon` and `berth apply`: a source
// (Git or a directory), the compiler, the reconciler with the real node
// drivers (containerd, CNI, iptables), the GitOps loop, and the node API.
// It owns the state directory layout:
//
//	<state>/git/            clone (repo.git) and one snapshot per revision
//	<state>/reconciler.db   rollout progress, Job and CronJob history, stops under way (bbolt)
//	<state>/reconciler.db.corrupt-<time>  a damaged store --reset-state moved aside
//	<state>/gitops.json     the revision applied last
//	<state>/operate.json    suspend, pin, and the revision facts (healthy, failed, retried)
//	<state>/history.json    the revisions this node has seen (berth history)
//	<state>/pods/           pod records, volumes, /etc/hosts (nodes/volumes)
//	<state>/logs/           container logs, rotated by size
//	<state>/containerd/     the embedded containerd, when berth runs its own
//	<state>/charts/         Helm charts from outside the repository, by digest
//	<run>/berth.sock        the node API (berth status, get, logs, promote, abort)
package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/nodepolicy"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/render"
	"berth.dev/berth/nodes/containerd"
	"berth.dev/berth/reconciler/charts"
	"berth.dev/berth/reconciler/source"
	"berth.dev/berth/schema"
)

// Config is everything `berth daemon` and `berth apply` take.
type Config struct {
	// Node is this node's name (default: the host name).
	Node     string
	StateDir string // default /var/lib/berth
	RunDir   string // default /run/berth
	// API is the unix socket of the node API (default <run>/berth.sock);
	// APIAddr optionally serves it on TCP too, with the token in
	// APITokenFile and HTTPS with APITLSCert and APITLSKey (APITLSClientCA
	// also requires client certificates); see nodeapi.ListenTCP.
	API            string
	APIAddr        string
	APITokenFile   string
	APITLSCert     string
	APITLSKey      string
	APITLSClientCA string

	// Repo, Branch, Path, Auth and Keyring say what to follow; WatchDir
	// follows a plain directory instead.
	Repo    string
	Branch  string
	Path    string
	Auth    source.Auth
	Keyring string // file with an armored OpenPGP key ring or SSH keys
	// AllowNonFastForward accepts a signed head that does not descend
	// from the applied commit (a rollback, another branch).
	AllowNonFastForward bool
	WatchDir            string
	// Limits are the budgets of reading a revision: the Git extraction,
	// the loader, CUE evaluation and the whole compile.
	Limits budget.Limits

	Poll time.Duration
	// Resync is the period of the node's one resync timer, the
	// reconciler's (default DefaultResync).
	Resync            time.Duration
	WebhookSecretFile string

	ContainerdAddress   string
	ContainerdNamespace string
	InsecureRegistries  []string
	Bridge              string
	PodCIDR             string // when the repository has no inventory
	ServiceCIDR         string
	// LoadBalancerPool adds to the Nodes' spec.loadBalancerPool.
	LoadBalancerPool []string
	IPTables         string
	ChainPrefix      string
	// NodeIPs answer NodePorts (default: every local address).
	NodeIPs []string
	// DrainDelay is how long a node removed from the inventory keeps its
	// pods serving before it stops them (default 10s).
	DrainDelay time.Duration
	// PeerPort is where the nodes of the inventory gossip their ready
	// pods (UDP and TCP, on each node's inventory address; 0: not at
	// all), encrypted with the keys in PeerKeyFile (required);
	// PeerInterval is the failure detector's probe interval (default
	// 300ms, nodes/gossip.LAN).
	PeerPort     int
	PeerKeyFile  string
	PeerInterval time.Duration
	// ImageGC removes images no pod uses when the image filesystem fills
	// (the kubelet's thresholds: 85% high, 80% low, 2 min minimum age).
	ImageGC containerd.ImageGC
	// ResetState moves a damaged state store aside and starts with an
	// empty one; without it berth refuses to start on a damaged store.
	ResetState bool
	// SeccompProfileRoot holds the Localhost seccomp profiles (default
	// StateDir/seccomp).
	SeccompProfileRoot string
	// NodePolicy is what this node allows whatever the repository says
	// (privileged containers, host paths, Service addresses, the Pod
	// Security default); nil is nodepolicy.Default(). A revision that
	// breaks it is refused like one that does not compile.
	NodePolicy *nodepolicy.Policy
	// SecretKeyFile holds the repository's key for the digests of Secret
	// values (plan.SecretKey); every node and CI use the same one.
	SecretKeyFile string
	// RegistryConfig is a Docker config.json with the credentials of the
	// registries and Helm repositories charts are fetched from (read at
	// start, and by the daemon again when it changes; "" fetches public
	// charts only). It is node configuration:
	// the plan never depends on it.
	RegistryConfig string
	// AutoRevert sends every node back to the last revision healthy on
	// all of them when the head fails on any (on by default: the CLI's
	// --auto-revert). NotifyURLs receive the daemon's events
	// (reconciler/notify).
	AutoRevert bool
	NotifyURLs []string
	// ClusterDNS serves <svc>.<ns>.svc.<ClusterDomain> on the pod
	// bridge's address and points pods' resolv.conf at it (berth daemon);
	// off, pods use the host's resolvers (berth apply, which exits).
	ClusterDNS    bool
	ClusterDomain string // default cluster.local
	// DNSUpstreams answer the other names (host:port); default the
	// nameservers of the host's /etc/resolv.conf.
	DNSUpstreams []string

	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.Node == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("node name: %w (pass --node)", err)
		}
		c.Node = h
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.RunDir == "" {
		c.RunDir = DefaultRunDir
	}
	if c.API == "" {
		c.API = filepath.Join(c.RunDir, "berth.sock")
	}
	if c.DrainDelay == 0 {
		c.DrainDelay = 10 * time.Second
	}
	if c.ImageGC == (containerd.ImageGC{}) {
		c.ImageGC = containerd.DefaultImageGC
	}
	if c.Branch == "" {
		c.Branch = DefaultBranch
	}
	if c.Resync <= 0 {
		c.Resync = DefaultResync
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	for _, d := range []string{c.StateDir, c.RunDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("state: %w", err)
		}
	}
	return nil
}

// Compiler compiles revisions for this node with one schema set.
type Compiler struct {
	schemas *schema.Set
	node    string
	policy  nodepolicy.Policy
	key     plan.SecretKey
	render  render.Options
	local   compiler.LocalNode
	podCIDR string
	svcCIDR string
	lbPool  []string
	limits  budget.Limits
	// credentials fetch private charts; their values are masked in
	// whatever the daemon shows.
	credentials *charts.Credentials
	// previous is the plan this node applied last (nil before the first):
	// a revision may not change the immutable objects it lists.
	previous func() *plan.Plan
	// drained are the nodes drained (berth node drain): the plan has
	// them unschedulable.
	drained func() []string
}

// NewCompiler loads the schemas once; c gives the node's name and the
// address options.
func NewCompiler(c *Config) (*Compiler, error) {
	s, err := schema.Load()
	if err != nil {
		return nil, fmt.Errorf("load the built-in schemas: %w", err)
	}
	policy := nodepolicy.Default()
	if c.NodePolicy != nil {
		policy = *c.NodePolicy
	}
	var key plan.SecretKey
	if c.SecretKeyFile != "" {
		if key, err = plan.ReadSecretKey(c.SecretKeyFile); err != nil {
			return nil, err
		}
	} else if c.Logger != nil {
		c.Logger.Warn("no --secret-key-file: the digests that stand for Secret values in plans and pod hashes use berth's public default key, so someone who sees a plan or a status can test guesses of those values offline; give every node and CI the same key file")
	}
	// Charts from outside the repository are fetched once into the state
	// directory, checked against the digest their HelmRelease pins.
	var creds *charts.Credentials
	if c.RegistryConfig != "" {
		var warnings []string
		if creds, warnings, err = charts.LoadCredentials(c.RegistryConfig); err != nil {
			return nil, fmt.Errorf("--registry-config: %w", err)
		}
		for _, w := range warnings {
			if c.Logger != nil {
				c.Logger.Warn(w)
			}
		}
	}
	ro := render.Options{ChartCache: filepath.Join(c.StateDir, "charts"), Fetcher: &charts.Fetcher{PlainHTTP: c.InsecureRegistries, Credentials: creds, Log: c.Logger}}
	return &Compiler{credentials: creds, schemas: s, node: c.Node, policy: policy, key: key, render: ro, local: compiler.LocalNode{Name: c.Node, Capacity: MachineCapacity()},
		podCIDR: c.PodCIDR, svcCIDR: c.ServiceCIDR, lbPool: c.LoadBalancerPool, limits: c.Limits}, nil
}

// Compile compiles the manifests of one revision; ctx stops its
// evaluations.
func (c *Compiler) Compile(ctx context.Context, rev source.Revision) (*plan.Plan, []diag.Diagnostic) {
	ro := c.render
	ro.Root = rev.Dir // the revision's files are the repository: nothing above is read
	p, diags, err := compiler.CompilePaths([]string{rev.Dir}, compiler.CompileOptions{
		Options:          compiler.Options{Schemas: c.schemas, Limits: c.limits, Context: ctx, Render: ro},
		Revision:         rev.ID,
		LocalNode:        c.local,
		PodCIDR:          c.podCIDR,
		ServiceCIDR:      c.svcCIDR,
		LoadBalancerPool: c.lbPool,
		NodePolicy:       &c.policy,
		PolicyNode:       c.node,
		SecretKey:        c.key,
		Previous:         c.lastApplied(),
		Cordoned:         c.drainedNodes(),
	})
	if err != nil {
		diags = append(diags, diag.Diagnostic{Pos: diag.Pos{File: rev.Dir}, Severity: diag.Error, Rule: "io", Message: err.Error()})
		return nil, diags
	}
	// Paths in diagnostics are relative to the revision, as in the repository.
	for i := range diags {
		if rel, err := filepath.Rel(rev.Dir, diags[i].File); err == nil && !strings.HasPrefix(rel, "..") {
			diags[i].File = rel
		}
	}
	return p, diags
}

func (c *Compiler) drainedNodes() []string {
	if c.drained == nil {
		return nil
	}
	return c.drained()
}

func (c *Compiler) lastApplied() *plan.Plan {
	if c.previous == nil {
		return nil
	}
	return c.previous()
}

// MachineCapacity reads this machine's CPUs and memory; pods default to
// the kubelet's 110.
func MachineCapacity() plan.Resources {
	r := plan.Resources{MilliCPU: int64(runtime.NumCPU()) * 1000, Pods: 110}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return r
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				r.Memory = kb * 1024
			}
		}
	}
	return r
}

var errNotReady = errors.New("the node runtime is not started yet (no good revision applied)")
