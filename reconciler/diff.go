package reconciler

import (
	"slices"
	"sort"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Desired is what one node should run: its pods, every service, and the
// workloads that drive them over time.
type Desired struct {
	Node      string
	Revision  string
	Pods      []plan.Pod
	Services  []plan.Service
	Workloads []plan.Workload
	// JobBackoff is the retry back-off of failed Job pods.
	JobBackoff Backoff
	// Known holds pods of earlier revisions, by "workload-key@revision",
	// as far as the caller remembers them: a stable pod that vanishes in
	// the middle of a canary or blue/green rollout is re-created from it.
	Known map[string][]plan.Pod
	// Nodes is the plan's node inventory (addresses, pod CIDRs): services
	// reach other nodes' endpoints through their addresses.
	Nodes []plan.Node
	// Peers is what this node knows of the other nodes' pods, by node name
	// (see PeerReadiness); a node not in it weighs what the schedule puts
	// there.
	Peers map[string]PeerReadiness
	// NetworkPolicies and the Namespaces' labels, from the plan: this
	// node enforces them for its pods (Firewall).
	NetworkPolicies []plan.NetworkPolicy
	Namespaces      []plan.Namespace
	// Hosts are the nodes that run each workload of a plan with several
	// stages (WaveHosts): a stage waits for the ones before it there.
	Hosts map[string][]string
	// Ordinals is the node of each ordinal of each StatefulSet
	// (SetPlacement): this node waits for the ordinals before or after
	// its own on other nodes.
	Ordinals map[string]map[int]string
}

// PeerReadiness is what this node last learned from another node: whether
// it answers, and how many ready pods it has of each service. Services
// send another node's share of traffic only when it answers, weighted by
// its ready pods, not by the ones the schedule puts there.
type PeerReadiness struct {
	Reachable bool `json:"reachable"`
	// Ready counts the node's ready pods by service (namespace/name).
	Ready map[string]int `json:"ready,omitempty"`
	// Headless are the node's ready pods of headless services, pod name
	// to address, by service: cluster DNS answers them here too.
	Headless map[string]map[string]string `json:"headless,omitempty"`
	// Workloads is the node's rollout of each workload (Kind/namespace/
	// name): DaemonSet turns wait for the nodes before them.
	Workloads map[string]PeerWorkload `json:"workloads,omitempty"`
	// Pods are the node's pods with their addresses and labels, which
	// NetworkPolicies select (pod IPs are allocated on each node; the
	// plan does not know them).
	Pods []PeerPod `json:"pods,omitempty"`
}

// PeerWorkload is one workload's rollout on another node.
type PeerWorkload struct {
	Revision string `json:"revision"`
	// Done: every pod of Revision there is available.
	Done bool `json:"done"`
	// Available: the node has a ready pod of the workload, of any
	// revision (a DaemonSet counts the nodes without one).
	Available bool `json:"available,omitempty"`
	// Ordinals are a StatefulSet's ordinals the node runs a pod of
	// (setorder.go).
	Ordinals []PeerOrdinal `json:"ordinals,omitempty"`
}

// Backoff doubles from Base up to Max.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// DefaultJobBackoff is Kubernetes' Job back-off: 10s, 20s, 40s... capped at 6 minutes.
var DefaultJobBackoff = Backoff{Base: 10 * time.Second, Max: 6 * time.Minute}

// After returns the delay before the next try after n failures (n >= 1).
func (b Backoff) After(n int) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return d
}

// DesiredFor picks node's part of p. An empty node name picks the only
// node of a single-node plan. The pods it returns, and the templates of
// the Jobs and CronJobs that run on node, are resolved (plan.Resolve):
// their ConfigMap and Secret references are read from p, so a pod of
// this revision keeps its content even once a later plan changed it (a
// rollout's stable pods, Desired.Known).
func DesiredFor(p *plan.Plan, node string) Desired {
	d := Desired{Node: node, Revision: p.Revision, Services: p.Services, Workloads: p.Workloads, JobBackoff: DefaultJobBackoff,
		NetworkPolicies: p.NetworkPolicies, Namespaces: p.Namespaces}
	for i := range p.Nodes {
		d.Nodes = append(d.Nodes, p.Nodes[i].Node)
	}
	if n, err := p.NodePlan(node); err == nil {
		d.Node = n.Node.Name
		d.Pods = make([]plan.Pod, len(n.Pods))
		for j := range n.Pods {
			d.Pods[j] = plan.Resolve(p, &n.Pods[j])
		}
	}
	cloned := false
	for i := range d.Workloads {
		w := &d.Workloads[i]
		if w.Template == nil || w.Node != "" && w.Node != d.Node {
			continue
		}
		if !cloned {
			// p's workloads are shared with the plan: never written.
			d.Workloads = slices.Clone(d.Workloads)
			w = &d.Workloads[i]
			cloned = true
		}
		t := plan.Resolve(p, w.Template)
		w.Template = &t
	}
	d.Hosts = WaveHosts(p)
	d.Ordinals = SetPlacement(p)
	hookRuns(&d)
	return d
}

// ownerKey is the workload key (kind/namespace/name) a pod belongs to.
func ownerKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// berthOwns says whether berth created the pod: the driver reports the
// berth.dev/pod-hash label as Hash, and nothing else has one.
func berthOwns(p *nodes.PodStatus) bool { return p.Hash != "" }

// view indexes one pass's inputs.
type view struct {
	d       Desired
	now     time.Time
	obs     map[string]*nodes.PodStatus   // berth's pods by key
	byOwner map[string][]*nodes.PodStatus // berth's pods by workload key
	handled map[string]bool               // observed keys some rule decided on
	out     []Action
}

// Diff returns the actions that move the node from observed towards
// desired, given the progress so far. It is pure and deterministic:
// records come first, then removals, stops, config updates and creations,
// each sorted by key.
func Diff(d Desired, observed nodes.NodeState, progress State) []Action {
	v := &view{d: d, now: progress.Now, obs: map[string]*nodes.PodStatus{}, byOwner: map[string][]*nodes.PodStatus{}, handled: map[string]bool{}}
	for i := range observed.Pods {
		p := &observed.Pods[i]
		if !berthOwns(p) {
			continue // not ours: never touched
		}
		v.obs[p.Key()] = p
		k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
		v.byOwner[k] = append(v.byOwner[k], p)
	}
	desiredBy := map[string][]*plan.Pod{}
	for i := range d.Pods {
		p := &d.Pods[i]
		k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
		desiredBy[k] = append(desiredBy[k], p)
	}
	workloads := slices.Clone(d.Workloads)
	sort.Slice(workloads, func(i, j int) bool { return workloads[i].Key() < workloads[j].Key() })
	known := map[string]bool{}
	gates := Gates(d, observed, progress)
	for i := range workloads {
		w := &workloads[i]
		k := w.Key()
		known[k] = true
		if gates[k] != "" {
			v.holdWorkload(w, progress)
			continue
		}
		switch w.Kind {
		case "Job":
			v.job(w, progress)
		case "CronJob":
			v.cron(w, progress)
		case "StatefulSet":
			v.history(w, progress)
			v.statefulSet(w, desiredBy[k], progress)
		default:
			v.history(w, progress)
			v.workload(w, desiredBy[k], progress)
		}
	}
	// Pods without a workload entry (bare pods): replace on change.
	var rest []string
	for k := range desiredBy {
		if !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		for _, p := range desiredBy[k] {
			v.bare(p)
		}
	}
	// Prune: berth's pods that nothing desires any more.
	for k, p := range v.obs {
		if !v.handled[k] {
			v.add(Action{Kind: ActRemove, Key: k, Object: ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name), Reason: "prune: no longer in the plan", Hash: p.Hash})
		}
	}
	v.claims(progress)
	// Forget the progress of workloads that left the plan.
	for _, m := range []struct {
		bucket string
		keys   []string
	}{{bucketRollouts, mapKeys(progress.Rollouts)}, {bucketJobs, mapKeys(progress.Jobs)}, {bucketCrons, mapKeys(progress.Crons)}, {bucketHistory, mapKeys(progress.History)}} {
		for _, k := range m.keys {
			if !known[k] {
				v.add(Action{Kind: ActRecord, Key: m.bucket + "/" + k, Object: k, Reason: "workload left the plan", Record: &Record{Bucket: m.bucket, Key: k}})
			}
		}
	}
	sortActions(v.out)
	return v.out
}

func mapKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (v *view) add(a Action) { v.out = append(v.out, a) }

func (v *view) record(bucket, key string, value any, reason string) {
	v.add(Action{Kind: ActRecord, Key: bucket + "/" + key, Object: key, Reason: reason, Record: &Record{Bucket: bucket, Key: key, Value: value}})
}

func (v *view) create(p *plan.Pod, object, reason string) {
	v.add(Action{Kind: ActCreate, Key: p.Key(), Object: object, Reason: reason, Pod: p})
}

func (v *view) remove(p *nodes.PodStatus, object, reason string) {
	v.handled[p.Key()] = true
	v.add(Action{Kind: ActRemove, Key: p.Key(), Object: object, Reason: reason, Hash: p.Hash})
}

func (v *view) stop(p *nodes.PodStatus, object, reason string) {
	v.add(Action{Kind: ActStop, Key: p.Key(), Object: object, Reason: reason, Hash: p.Hash})
}

// current reports whether an observed pod runs exactly the desired pod.
func current(o *nodes.PodStatus, p *plan.Pod) bool { return o != nil && o.Hash == p.Hash }

// keep marks a desired pod's observed twin as decided, and rewrites its
// config in place when only the config changed.
func (v *view) keep(o *nodes.PodStatus, p *plan.Pod, object string) {
	v.handled[o.Key()] = true
	if o.ConfigHash != p.ConfigHash && !finished(o) {
		v.add(Action{Kind: ActUpdateConfig, Key: p.Key(), Object: object, Reason: "configMap or secret content changed", Pod: p})
	}
}

func finished(o *nodes.PodStatus) bool {
	return o.Phase == nodes.PhaseSucceeded || o.Phase == nodes.PhaseFailed
}

// dead is a pod the runtime gave up on although it should run: its
// restartPolicy would have restarted it, so it is re-created.
func dead(o *nodes.PodStatus, p *plan.Pod) bool {
	return finished(o) && (p.Spec.RestartPolicy == "" || p.Spec.RestartPolicy == "Always" ||
		(p.Spec.RestartPolicy == "OnFailure" && o.Phase == nodes.PhaseFailed))
}

func ready(o *nodes.PodStatus) bool { return o.Phase == nodes.PhaseRunning && o.Ready }

// available is ready for at least minReady.
func available(o *nodes.PodStatus, minReady time.Duration, now time.Time) bool {
	return ready(o) && (minReady <= 0 || !o.ReadySince.IsZero() && now.Sub(o.ReadySince) >= minReady)
}

// bare handles a pod with no controller: created when missing, replaced
// (removed, then created) when its hash changed or it died.
func (v *view) bare(p *plan.Pod) {
	object := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
	o := v.obs[p.Key()]
	switch {
	case o == nil:
		v.create(p, object, "missing")
	case !current(o, p):
		v.remove(o, object, "pod changed: replace")
		v.create(p, object, "pod changed: replace")
	case dead(o, p):
		v.remove(o, object, "pod "+o.Phase+": re-create")
		v.create(p, object, "pod "+o.Phase+": re-create")
	default:
		v.keep(o, p, object)
	}
}
