package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/containerd/cni"
	"berth.dev/berth/nodes/dns"
)

// Labels berth adds beside nodes.Label*, so a new Runtime rebuilds a
// pod's state from containerd alone.
const (
	labelConfigHash = "berth.dev/config-hash"
	labelPodIP      = "berth.dev/pod-ip"
	labelPodID      = "berth.dev/pod-id"
	labelNetns      = "berth.dev/netns"
	labelInit       = "berth.dev/init" // index of an init container
	labelRestarts   = "berth.dev/restarts"
	labelExitCode   = "berth.dev/exit-code"
	labelReason     = "berth.dev/reason"
	labelStartedAt  = "berth.dev/started-at"
	labelFinishedAt = "berth.dev/finished-at"
	labelStopped    = "berth.dev/stopped"
)

// pod is one pod the Runtime runs; mu guards the fields that change.
type pod struct {
	key  string
	id   string // short stable id: netns name, CNI container id
	ns   cni.Namespaces
	stop chan struct{} // closed by StopPod: no more restarts
	done chan struct{} // closed when supervision ends

	mu         sync.Mutex
	spec       *plan.Pod
	ip         string
	reason     string
	message    string
	startedAt  time.Time
	readySince time.Time
	stopped    bool
	// stopStart is when the first StopPod began: a stop tried again
	// (after its caller gave up) keeps the first one's grace deadline.
	stopStart time.Time
	// forced marks a pod StopPod stopped while it ran: it is reported
	// Failed with reason Stopped, as the fake runtime does.
	forced bool
	inits  []*ctr
	apps   []*ctr
	// initDone is set once the containers are started: the sidecars no
	// longer hold the pod's phase. sidecarsEnd is closed when the
	// containers have finished for good (a Job's): the sidecars stop and
	// are not restarted.
	initDone    bool
	sidecarsEnd chan struct{}
	endOnce     sync.Once
	// volPaths are the pod's volumes' host paths (volume name -> path),
	// known once the volumes are prepared; subPath mounts start there.
	volPaths map[string]string
	// adopted marks a pod rebuilt from containerd and its state file:
	// its spec's secret values are redacted.
	adopted   bool
	holderPID uint32 // of its shared PID namespace's holder (pidns.go), 0: none
}

// ctr is one container of a pod; its fields are guarded by pod.mu.
type ctr struct {
	spec  plan.Container
	id    string
	init  int // index+1 for init containers, 0 for app containers
	state nodes.ContainerStatus
	// started is false until the startup probe passes.
	started bool
	// completed marks an init container that exited 0.
	completed bool
	// lastExit is when the container last exited or was found stopped.
	created bool
	// sidecar marks an init container with restartPolicy Always. up is
	// closed the first time it runs and has started (postStart done,
	// startup probe passed): the next init container may start.
	sidecar bool
	up      chan struct{}
	upDone  bool
	// runningAt is when a started task began, while its postStart hook
	// runs: it is not running until the hook is done.
	runningAt time.Time
}

// record is the pod's state file, StateDir/pods/<ns>_<name>/pod.json. It
// holds the spec for supervision (probes, policy) after a daemon restart;
// sensitive values are redacted by plan.Secret, the running containers
// keep theirs in containerd.
type record struct {
	Pod *plan.Pod `json:"pod"`
	ID  string    `json:"id"`
	// Netns is the path of the pod's network namespace (pods made before
	// it was recorded have theirs in the containers' labelNetns).
	Netns     string    `json:"netns,omitempty"`
	IP        string    `json:"ip,omitempty"`
	StartedAt time.Time `json:"startedAt"`
}

func fileKey(key string) string { return strings.ReplaceAll(key, "/", "_") }

// podID is a short stable name for a pod of one containerd namespace.
func podID(namespace, key string) string {
	sum := sha256.Sum256([]byte(namespace + "\x00" + key))
	return "berth-" + hex.EncodeToString(sum[:6])
}

// containerID names a pod's container in containerd; ids are capped at 76
// characters, so long names fall back to the pod id.
func containerID(podNS, podName, podid, name string) string {
	id := podNS + "_" + podName + "_" + name
	if len(id) > 76 {
		id = podid + "_" + name
		if len(id) > 76 {
			id = id[:76]
		}
	}
	return id
}

func (r *Runtime) newPod(p *plan.Pod) *pod {
	id := podID(r.opts.Namespace, p.Key())
	pd := &pod{
		key:  p.Key(),
		id:   id,
		ns:   cni.Paths(r.netnsDir(), filepath.Join(r.opts.RunDir, "ns"), id),
		stop: make(chan struct{}),
		done: make(chan struct{}),
		spec: p,

		sidecarsEnd: make(chan struct{}),
	}
	for i, c := range p.Spec.InitContainers {
		pd.inits = append(pd.inits, &ctr{spec: c, init: i + 1, id: containerID(p.Namespace, p.Name, id, c.Name),
			sidecar: c.Sidecar(), up: make(chan struct{}),
			state: nodes.ContainerStatus{Name: c.Name, Image: c.Image, State: nodes.StateWaiting, Reason: "PodInitializing"}})
	}
	for _, c := range p.Spec.Containers {
		pd.apps = append(pd.apps, &ctr{spec: c, id: containerID(p.Namespace, p.Name, id, c.Name),
			state: nodes.ContainerStatus{Name: c.Name, Image: c.Image, State: nodes.StateWaiting, Reason: "ContainerCreating"}})
	}
	return pd
}

// netnsDir holds the pods' network namespaces: berth's own directory,
// not /run/netns. `ip netns add` (and vishvananda/netns, and anything
// else that follows iproute2) bind-mounts /run/netns over itself when it
// is not yet a mount point; every namespace berth had mounted there is
// then hidden under that mount, can no longer be unmounted by path, and
// its file can never be removed (EBUSY). No tool touches a directory it
// does not know, so no mount ever covers this one. Making /run/netns a
// shared mount of itself first, as iproute2 and containernetworking's ns
// package do, would protect only against tools that follow that
// protocol, and would leave a mount on the host that berth must own.
// `nsenter --net=<RunDir>/netns/berth-<id>` enters a pod's namespace.
func (r *Runtime) netnsDir() string { return filepath.Join(r.opts.RunDir, "netns") }

func (pd *pod) all() []*ctr { return append(append([]*ctr{}, pd.inits...), pd.apps...) }

// CreatePod sets up the pod's namespaces, network and volumes and starts
// its supervision (pull, init containers, containers, probes). It returns
// before images are pulled; Observe reports the progress. It is
// idempotent: a pod with the same key and hash is left alone; one with
// another hash is an error (the reconciler removes it first).
func (r *Runtime) CreatePod(ctx context.Context, p *plan.Pod) error {
	key := p.Key()
	r.mu.Lock()
	old := r.pods[key]
	r.mu.Unlock()
	if old != nil {
		old.mu.Lock()
		hash := old.spec.Hash
		old.mu.Unlock()
		if hash == p.Hash {
			return nil
		}
		return fmt.Errorf("create pod %s: it runs with hash %s, not %s; remove it first", key, hash, p.Hash)
	}
	cp := *p // UpdatePodConfig edits the Runtime's copy, never the caller's
	pd := r.newPod(&cp)
	r.mu.Lock()
	if r.pods[key] != nil {
		r.mu.Unlock()
		return nil // a concurrent CreatePod won
	}
	r.pods[key] = pd
	r.mu.Unlock()

	if err := r.setup(ctx, pd); err != nil {
		r.teardown(r.ctx, pd)
		r.mu.Lock()
		delete(r.pods, key)
		r.mu.Unlock()
		return fmt.Errorf("create pod %s: %w", key, err)
	}
	r.startSupervision(pd)
	return nil
}

// setup creates the namespaces, attaches the network, prepares volumes
// and /etc/hosts, and writes the state file.
func (r *Runtime) setup(ctx context.Context, pd *pod) error {
	p := pd.spec
	now := r.now()
	pd.mu.Lock() // Observe reads these while a pass sets the pod up
	pd.startedAt = now
	pd.mu.Unlock()
	if !p.Spec.HostNetwork {
		if cni.Exists(pd.ns) || r.net.Attached(pd.id) {
			// A leftover of a pod this Runtime does not know (a crash
			// between setup and the state file, or a teardown that
			// failed): start clean, so no stale veth or NAT rule is reused
			// (the bridge plugin names its masquerade chain after the id).
			if err := r.net.Detach(ctx, pd.id, pd.ns.Net, portMappings(p)); err != nil {
				r.log.Warn("detach leftover network", "pod", pd.key, "err", err)
			}
			if err := r.removeNamespaces(pd); err != nil {
				return fmt.Errorf("remove leftover namespaces: %w", err)
			}
		}
		if err := cni.Create(pd.ns, p.Hostname()); err != nil {
			return fmt.Errorf("namespaces: %w", err)
		}
		ip, err := r.net.Attach(ctx, pd.id, pd.ns.Net, portMappings(p))
		if err != nil {
			return err
		}
		pd.mu.Lock()
		pd.ip = ip
		pd.mu.Unlock()
	} else {
		pd.mu.Lock()
		pd.ip = hostIP()
		pd.mu.Unlock()
	}
	if _, err := r.vols.Prepare(r.project(p)); err != nil {
		return fmt.Errorf("volumes: %w", err)
	}
	if _, err := r.vols.WriteHosts(p, pd.ip, r.clusterDomain()); err != nil {
		return fmt.Errorf("/etc/hosts: %w", err)
	}
	if _, err := r.writeResolvConf(p); err != nil {
		return err
	}
	if err := r.startHolder(ctx, pd); err != nil {
		return err
	}
	return r.writeRecord(pd)
}

// portMappings are the host ports of the containers and sidecars (which
// run beside them for the pod's life).
func portMappings(p *plan.Pod) []cni.PortMapping {
	var out []cni.PortMapping
	var cs []plan.Container
	for _, c := range p.Spec.InitContainers {
		if c.Sidecar() {
			cs = append(cs, c)
		}
	}
	for _, c := range append(cs, p.Spec.Containers...) {
		for _, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			proto := strings.ToLower(port.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			out = append(out, cni.PortMapping{HostPort: port.HostPort, ContainerPort: port.ContainerPort, Protocol: proto})
		}
	}
	return out
}

// StopPod stops the pod's containers (preStop, SIGTERM, SIGKILL when the
// grace period ends) and releases its IP, keeping the containers with
// their status and logs, as a finished Job's pod is kept. A pod stopped
// while running is reported Failed with reason Stopped. The grace period
// ends at deadline; a zero deadline is terminationGracePeriodSeconds after
// the first StopPod of this Runtime (a stop tried again after its caller
// gave up keeps it). The caller passes the deadline it recorded when a
// stop began before a daemon restart: the pod gets what is left of its
// grace period, not a new one.
func (r *Runtime) StopPod(ctx context.Context, key string, deadline time.Time) error {
	pd := r.lookup(key)
	if pd == nil {
		return nil
	}
	ctx = r.nsCtx(ctx)
	st := pd.status()
	forced := st.Phase == nodes.PhaseRunning || st.Phase == nodes.PhasePending
	pd.mu.Lock()
	first := !pd.stopped
	if first {
		pd.stopped = true
		pd.stopStart = time.Now()
		close(pd.stop)
	}
	if deadline.IsZero() {
		deadline = pd.stopStart.Add(time.Duration(pd.spec.Spec.TerminationGracePeriodSeconds) * time.Second)
	}
	all := pd.all()
	pd.mu.Unlock()
	mark := "true"
	if forced && first {
		mark = "forced"
	}
	var wg sync.WaitGroup
	errs := make([]error, len(all))
	if first {
		// Marked before the signal: a daemon that dies during the
		// grace period re-adopts the pod as terminating, never ready.
		for i, c := range all {
			wg.Go(func() {
				if err := r.setLabels(ctx, c.id, map[string]string{labelStopped: mark}); err != nil && !errdefs.IsNotFound(err) {
					errs[i] = err
				}
			})
		}
		wg.Wait()
	}
	// The containers first, then the sidecars one by one, last started
	// first: each stage's exit ends before the next is signalled, all
	// within the one grace period, as the kubelet orders it.
	pd.mu.Lock()
	stages := stopOrder(pd)
	pd.mu.Unlock()
	for _, stage := range stages {
		stageErrs := make([]error, len(stage))
		for i, c := range stage {
			wg.Go(func() { stageErrs[i] = r.stopContainer(ctx, pd, c, deadline, first) })
		}
		wg.Wait()
		errs = append(errs, stageErrs...)
	}
	select {
	case <-pd.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop pod %s: %w", key, err)
	}
	if err := r.removeHolder(ctx, pd); err != nil {
		return fmt.Errorf("stop pod %s: %w", key, err)
	}
	pd.mu.Lock()
	if first {
		pd.forced = forced
	}
	release := pd.ip != "" && !pd.spec.Spec.HostNetwork
	spec := pd.spec
	pd.mu.Unlock()
	if release {
		if err := r.net.Detach(ctx, pd.id, pd.ns.Net, portMappings(spec)); err != nil {
			return fmt.Errorf("stop pod %s: release IP: %w", key, err)
		}
		pd.mu.Lock()
		pd.ip = ""
		pd.mu.Unlock()
		if err := r.writeRecord(pd); err != nil {
			return fmt.Errorf("stop pod %s: %w", key, err)
		}
	}
	return nil
}

// RemovePod stops the pod (as StopPod) and deletes its containers, snapshots, network
// (releasing the IP), namespaces, volumes (never hostPath or PV data),
// logs and state.
func (r *Runtime) RemovePod(ctx context.Context, key string, deadline time.Time) error {
	pd := r.lookup(key)
	if pd == nil {
		return nil
	}
	if err := r.StopPod(ctx, key, deadline); err != nil {
		return err
	}
	if err := r.teardown(r.nsCtx(ctx), pd); err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	r.mu.Lock()
	if r.pods[key] == pd {
		delete(r.pods, key)
	}
	r.mu.Unlock()
	return nil
}

// teardown deletes everything setup and supervision created.
func (r *Runtime) teardown(ctx context.Context, pd *pod) error {
	var errs []error
	for _, c := range pd.all() {
		if err := r.deleteContainer(ctx, c.id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.removeHolder(ctx, pd); err != nil {
		errs = append(errs, err)
	}
	pd.mu.Lock()
	hostNet := pd.spec.Spec.HostNetwork
	spec := pd.spec
	pd.mu.Unlock()
	if !hostNet {
		if err := r.net.Detach(ctx, pd.id, pd.ns.Net, portMappings(spec)); err != nil {
			errs = append(errs, err)
		}
		if err := r.removeNamespaces(pd); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.removeVolumes(pd.key); err != nil {
		errs = append(errs, fmt.Errorf("volumes: %w", err))
	}
	for _, d := range []string{r.logDir(pd.key), r.podDir(pd.key)} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeNamespaces removes the pod's namespaces. One that a later mount
// hides is left to whoever made that mount, with a warning: failing
// would leave the pod's name stuck, as Create works on the same path.
func (r *Runtime) removeNamespaces(pd *pod) error {
	hidden, err := cni.Remove(pd.ns)
	for _, p := range hidden {
		r.log.Warn("pod namespace hidden under a later mount of its directory; it stays until that mount is removed",
			"pod", pd.key, "path", p)
	}
	return err
}

func (r *Runtime) removeVolumes(key string) error {
	if rm, ok := r.vols.(volumeRemover); ok {
		return rm.Remove(key)
	}
	return fmt.Errorf("nodes/volumes has no Remove: pod %s volumes left under %s", key, filepath.Join(r.opts.StateDir, "volumes"))
}

func (r *Runtime) deleteContainer(ctx context.Context, id string) error {
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return r.deleteOrphanTask(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	unlock := r.tasks.lock(id)
	defer unlock()
	t, err := c.Task(ctx, nil)
	if err != nil {
		t = nil
	}
	if err := r.deleteTask(ctx, id, t, containerd.WithProcessKill); err != nil {
		return fmt.Errorf("delete task %s: %w", id, err)
	}
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	return nil
}

// UpdatePodConfig rewrites the pod's configMap and secret files (and its
// /etc/hosts, which holds only the pod's own name) in place; the
// containers keep running.
func (r *Runtime) UpdatePodConfig(ctx context.Context, p *plan.Pod) error {
	pd := r.lookup(p.Key())
	if pd == nil {
		return fmt.Errorf("update pod %s: no such pod", p.Key())
	}
	if err := r.vols.Update(r.project(p)); err != nil {
		return fmt.Errorf("update pod %s volumes: %w", p.Key(), err)
	}
	pd.mu.Lock()
	ip := pd.ip
	pd.mu.Unlock()
	if _, err := r.vols.WriteHosts(p, ip, r.clusterDomain()); err != nil {
		return fmt.Errorf("update pod %s /etc/hosts: %w", p.Key(), err)
	}
	pd.mu.Lock()
	pd.spec.ConfigHash = p.ConfigHash
	pd.spec.Spec.Volumes = p.Spec.Volumes
	all := pd.all()
	pd.mu.Unlock()
	ctx = r.nsCtx(ctx)
	for _, c := range all {
		if err := r.setLabels(ctx, c.id, map[string]string{labelConfigHash: p.ConfigHash}); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("update pod %s: %w", p.Key(), err)
		}
	}
	return r.writeRecord(pd)
}

func (r *Runtime) setLabels(ctx context.Context, id string, labels map[string]string) error {
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return err
	}
	_, err = c.SetLabels(ctx, labels)
	return err
}

// nsCtx puts the Runtime's containerd namespace on a caller's context.
func (r *Runtime) nsCtx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.opts.Namespace)
}

// podLabels are the labels of every containerd object of the pod.
func (r *Runtime) podLabels(pd *pod, c *ctr) map[string]string {
	p := pd.spec
	l := map[string]string{
		nodes.LabelPod:       p.Name,
		nodes.LabelNamespace: p.Namespace,
		nodes.LabelPodHash:   p.Hash,
		nodes.LabelContainer: c.spec.Name,
		nodes.LabelOwner:     p.Owner.Kind + "/" + p.Owner.Name,
		nodes.LabelRevision:  p.Revision,
		nodes.LabelManaged:   "true",
		labelConfigHash:      p.ConfigHash,
		labelPodIP:           pd.ip,
		labelPodID:           pd.id,
		labelRestarts:        "0",
	}
	if !p.Spec.HostNetwork {
		l[labelNetns] = pd.ns.Net
	}
	if c.init > 0 {
		l[labelInit] = fmt.Sprint(c.init)
	}
	return l
}

// clusterDomain is the cluster DNS's domain, or the default one on a node
// without cluster DNS (the kubelet's clusterDomain is set either way).
func (r *Runtime) clusterDomain() string {
	if d := r.opts.DNS; d != nil && d.Domain != "" {
		return d.Domain
	}
	return dns.DefaultDomain
}
