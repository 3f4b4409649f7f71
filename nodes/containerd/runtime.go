// Package containerd runs planned pods on a Linux node through containerd
// and CNI, supervises them as the kubelet would (restarts with back-off,
// probes, readiness), and reports what really runs. Everything it creates
// carries berth.dev labels, so a new Runtime re-adopts the pods a previous
// daemon left running without restarting them.
package containerd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/containerd/cni"
	"berth.dev/berth/nodes/volumes"
)

// Defaults of Options.
const (
	DefaultNamespace   = "berth"
	DefaultStateDir    = "/var/lib/berth"
	DefaultBridge      = "berth0"
	DefaultPodCIDR     = "10.88.0.0/16"
	DefaultCNIBinDir   = "/usr/lib/cni"
	DefaultSystemSock  = "/run/containerd/containerd.sock"
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffMax  = 5 * time.Minute
	DefaultLogMaxSize  = 10 << 20
)

// Options configure a Runtime; zero values take the defaults.
type Options struct {
	// Address is the containerd socket. When empty and the system socket
	// does not answer, the Runtime starts its own containerd under StateDir.
	Address string
	// Namespace is the containerd namespace of berth's objects.
	Namespace string
	// StateDir holds pod state, logs, volumes and the embedded containerd.
	StateDir string
	// RunDir holds the pods' namespace bind mounts (default /run/berth).
	RunDir string
	// InsecureRegistries are reached over plain HTTP (host:port).
	InsecureRegistries []string
	// Bridge and PodCIDR define the pod network.
	Bridge  string
	PodCIDR string
	// CNIBinDir holds the CNI plugins.
	CNIBinDir string
	// Logger receives the driver's logs.
	Logger *slog.Logger
	// Clock is the time source (tests inject one).
	Clock func() time.Time
	// BackoffBase and BackoffMax bound the restart and pull back-off
	// (10 s doubling to 5 min, as the kubelet does); tests shrink them.
	BackoffBase, BackoffMax time.Duration
	// BackoffReset is how long a container must run for its back-off to
	// reset (10 min).
	BackoffReset time.Duration
	// LogMaxSize is the size at which a container log rotates.
	LogMaxSize int64
	// OnPull, when set, is told of every image pull (metrics).
	OnPull func(ref string, took time.Duration, err error)
	// ServiceEnv, when set, gives the Service variables of a namespace
	// (plan.ServiceEnv of the plan the node runs now); containers get
	// them when they are created, unless enableServiceLinks is false.
	ServiceEnv func(namespace string) []plan.EnvVar
	// DNS, when set, is the node's cluster DNS: pods (but hostNetwork
	// ones) get a resolv.conf that points at it, as the kubelet writes
	// it for dnsPolicy ClusterFirst. Without it pods use the host's.
	DNS *DNSConfig
	// SeccompProfileRoot holds the Localhost seccomp profiles
	// (default StateDir/seccomp).
	SeccompProfileRoot string
	// Executable is the binary the shim runs as `Executable log-copy
	// FILE` to log a container with a terminal (RunLogCopy); default
	// this process's own.
	Executable string

	// NodeName, NodeIP and Allocatable are the inventory's node, read
	// through the downward API (spec.nodeName, status.hostIP, a limit
	// the pod does not set); empty ones are the machine's.
	NodeName    string
	NodeIP      string
	Allocatable plan.Allocatable

	// systemSocket is the system containerd tried before starting our own
	// (tests point it elsewhere).
	systemSocket string
	// beforeStart, when set, runs before a container's task is created
	// (tests hold a start there).
	beforeStart func(pod, container string)
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.RunDir == "" {
		o.RunDir = "/run/berth"
	}
	if o.Bridge == "" {
		o.Bridge = DefaultBridge
	}
	if o.PodCIDR == "" {
		o.PodCIDR = DefaultPodCIDR
	}
	if o.CNIBinDir == "" {
		o.CNIBinDir = DefaultCNIBinDir
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.BackoffReset <= 0 {
		o.BackoffReset = 10 * time.Minute
	}
	if o.systemSocket == "" {
		o.systemSocket = DefaultSystemSock
	}
	if o.LogMaxSize <= 0 {
		o.LogMaxSize = DefaultLogMaxSize
	}
	if o.SeccompProfileRoot == "" {
		o.SeccompProfileRoot = filepath.Join(o.StateDir, "seccomp")
	}
}

// DNSConfig is what a pod's resolv.conf says.
type DNSConfig struct {
	// Nameserver is the cluster DNS address (the bridge's).
	Nameserver string
	// Domain is the cluster domain (cluster.local).
	Domain string
	// Search are the host's search domains, searched after the cluster's.
	Search []string
}

// volumeManager is what the driver needs from nodes/volumes.
type volumeManager interface {
	Prepare(pod *plan.Pod) (map[string]string, error)
	Update(pod *plan.Pod) error
	WriteHosts(pod *plan.Pod, podIP string) (string, error)
	WriteResolvConf(pod *plan.Pod, content []byte) (string, error)
	SubPathTarget(pod *plan.Pod, sp volumes.SubPath) (string, error)
	BindSubPath(pod *plan.Pod, sp volumes.SubPath) (string, error)
}

// volumeRemover is the part of nodes/volumes that deletes a pod's volumes.
type volumeRemover interface {
	Remove(key string) error
}

// Runtime is the containerd pod driver.
type Runtime struct {
	opts   Options
	log    *slog.Logger
	client *containerd.Client
	net    *cni.Network
	vols   volumeManager
	daemon *daemon
	node   nodeFacts

	ctx    context.Context // carries the containerd namespace; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	pulls pullGroup
	oom   oomSeen
	// tasks serialises deleting one container's task: the supervisor
	// deletes an exited task while RemovePod may delete the same one, and
	// containerd 1.6 can then leave the shim running.
	tasks keyedMutex

	mu   sync.Mutex
	pods map[string]*pod

	// used is when a pod last started with each image (the image GC's
	// least recently used order).
	usedMu sync.Mutex
	used   map[string]time.Time
}

// New connects to (or starts) containerd, prepares the pod network and
// re-adopts the pods a previous Runtime left.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	opts.defaults()
	for _, d := range []string{opts.StateDir, filepath.Join(opts.StateDir, "pods"), filepath.Join(opts.StateDir, "logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
	}
	r := &Runtime{opts: opts, log: opts.Logger, pods: map[string]*pod{}, node: newNodeFacts(&opts)}
	r.ctx, r.cancel = context.WithCancel(namespaces.WithNamespace(context.WithoutCancel(ctx), opts.Namespace))

	client, d, err := connect(ctx, opts, r.log)
	if err != nil {
		r.cancel()
		return nil, err
	}
	r.client, r.daemon = client, d

	r.net, err = cni.New(cni.Config{
		Name:     "berth-" + opts.Bridge,
		Bridge:   opts.Bridge,
		Subnet:   opts.PodCIDR,
		BinDir:   opts.CNIBinDir,
		StateDir: filepath.Join(opts.StateDir, "cni"),
		IPMasq:   true,
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	r.vols = newVolumes(filepath.Join(opts.StateDir, "volumes"))
	if err := r.adopt(r.ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("re-adopt pods: %w", err)
	}
	r.wg.Add(1)
	go r.rotateLoop()
	return r, nil
}

// newVolumes returns nodes/volumes' manager; the assertion keeps this
// package building while that package grows its API.
func newVolumes(root string) volumeManager {
	var m any = volumes.New(root)
	if vm, ok := m.(volumeManager); ok {
		return vm
	}
	panic("nodes/volumes.Manager lacks Prepare/Update/WriteHosts/WriteResolvConf/SubPathTarget/BindSubPath")
}

// Close stops supervision (the containers keep running) and disconnects;
// an embedded containerd is stopped, its shims keep the containers alive.
func (r *Runtime) Close() error {
	r.cancel()
	r.wg.Wait()
	var err error
	if r.client != nil {
		err = r.client.Close()
	}
	if r.daemon != nil {
		if derr := r.daemon.stop(); err == nil {
			err = derr
		}
	}
	return err
}

func (r *Runtime) now() time.Time { return r.opts.Clock() }

func (r *Runtime) podDir(key string) string {
	return filepath.Join(r.opts.StateDir, "pods", fileKey(key))
}

func (r *Runtime) logDir(key string) string {
	return filepath.Join(r.opts.StateDir, "logs", fileKey(key))
}

func (r *Runtime) lookup(key string) *pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pods[key]
}

// keyedMutex is a mutex per key.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*sync.Mutex{}
	}
	l, ok := k.m[key]
	if !ok {
		l = &sync.Mutex{}
		k.m[key] = l
	}
	k.mu.Unlock()
	l.Lock()
	return l.Unlock
}
