package reconciler

// What this node tells the others by gossip: its ready pods per Service,
// the pods of its headless Services, its rollouts' progress, and its
// pods' addresses and labels for the others' NetworkPolicies.

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"berth.dev/berth/nodes"
)

// localReady counts, per service, the pods this node answers its transit
// ports with: what the other nodes should weigh it by.
func localReady(routes []nodes.ServiceRoute) map[string]int {
	out := map[string]int{}
	for _, rt := range routes {
		svc, ok := strings.CutSuffix(rt.Key(), TransitSuffix)
		if !ok {
			continue
		}
		pods := map[string]bool{}
		for _, p := range rt.Ports {
			for _, b := range p.Backends {
				if b.Weight > 0 && !b.Remote {
					pods[b.IP] = true
				}
			}
		}
		out[svc] = len(pods)
	}
	return out
}

// LocalReady is this node's ready pods by service (namespace/name), as
// other nodes reach them through its transit ports: what this node tells
// the others (PeerReadiness.Ready). ok is false until the first routes
// were synced (a daemon that just started knows nothing yet).
func (r *Reconciler) LocalReady() (ready map[string]int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.localReady), r.localReady != nil
}

// localHeadless are this node's ready pods of each headless service, pod
// name to address, as its cluster DNS answers them.
func localHeadless(routes []nodes.ServiceRoute) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, rt := range routes {
		for _, p := range rt.Ready {
			if p.Node != "" {
				continue
			}
			_, name, _ := strings.Cut(p.Pod, "/")
			if out[rt.Key()] == nil {
				out[rt.Key()] = map[string]string{}
			}
			out[rt.Key()][name] = p.IP
		}
	}
	return out
}

// LocalHeadless is this node's ready pods of headless services (pod name
// to address, by service): what the other nodes' cluster DNS answers for
// them (PeerReadiness.Headless).
func (r *Reconciler) LocalHeadless() map[string]map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.localHeadless)
}

// LocalProgress is this node's rollout of each workload, as the other
// nodes see it (PeerReadiness.Workloads).
func (r *Reconciler) LocalProgress() map[string]PeerWorkload {
	r.mu.Lock()
	defer r.mu.Unlock()
	serving := map[string]bool{}
	for i := range r.observed.Pods {
		if p := &r.observed.Pods[i]; berthOwns(p) && ready(p) {
			serving[ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)] = true
		}
	}
	out := make(map[string]PeerWorkload, len(r.state.Rollouts))
	for k, ro := range r.state.Rollouts {
		out[k] = PeerWorkload{Revision: ro.Revision, Done: ro.Phase == PhaseComplete, Available: serving[k]}
	}
	waveProgress(r.desired, r.observed, r.state, out)
	r.tellOrdinals(out)
	return out
}

// tellOrdinals adds to out the ordinals of this node's StatefulSets
// (PeerWorkload.Ordinals), when the plan has several nodes: the other
// nodes order theirs by them (setorder.go). The caller holds r.mu.
func (r *Reconciler) tellOrdinals(out map[string]PeerWorkload) {
	if len(r.desired.Nodes) < 2 {
		return
	}
	var pods map[string][]*nodes.PodStatus
	for i := range r.desired.Workloads {
		w := &r.desired.Workloads[i]
		pw, ok := out[w.Key()]
		if w.Kind != "StatefulSet" || !ok {
			continue
		}
		if pods == nil {
			pods = map[string][]*nodes.PodStatus{}
			for j := range r.observed.Pods {
				if p := &r.observed.Pods[j]; berthOwns(p) && p.Owner.Kind == "StatefulSet" {
					k := ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)
					pods[k] = append(pods[k], p)
				}
			}
		}
		pw.Ordinals = localOrdinals(w, pods[w.Key()], pw.Revision, r.opts.Clock.Now())
		out[w.Key()] = pw
	}
}

// PeerPod is a pod another node runs, as that node tells the others: the
// address its CNI gave the pod and the pod's labels. NetworkPolicies
// select other nodes' pods by them: pod IPs are allocated on each node,
// so the plan does not know them.
type PeerPod struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	IP        string            `json:"ip"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// LocalPods are this node's pods as it tells the other nodes
// (PeerReadiness.Pods): berth's pods with an address in this node's pod
// CIDR and their labels, in key order. Empty until the first plan, and
// when the plan has no NetworkPolicy (nobody needs them then).
func (r *Reconciler) LocalPods() []PeerPod {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.desired.NetworkPolicies) == 0 {
		return nil
	}
	var self netip.Prefix
	for _, n := range r.desired.Nodes {
		if n.Name == r.desired.Node {
			self, _ = netip.ParsePrefix(n.PodCIDR)
		}
	}
	var out []PeerPod
	for i := range r.observed.Pods {
		p := &r.observed.Pods[i]
		ip, err := netip.ParseAddr(p.IP)
		if !berthOwns(p) || err != nil || !self.IsValid() || !self.Masked().Contains(ip) {
			continue
		}
		out = append(out, PeerPod{Namespace: p.Namespace, Name: p.Name, IP: p.IP, Labels: maps.Clone(p.Labels)})
	}
	slices.SortFunc(out, func(a, b PeerPod) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}
