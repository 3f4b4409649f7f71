package reconciler

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// labelJobIndex is the completion index label of an Indexed Job's pods
// (CompletionIndexKey).
const labelJobIndex = CompletionIndexKey

// jobReady are the ready pods of the Jobs and CronJobs whose template a
// headless svc selects: the plan has no endpoints for them (the node
// running the Job names its pods at run time), so this node takes its
// own from what runs here, and another node's from what that node told
// (gossip), as for any headless Service, capped at the Job's
// parallelism. hosts gets their host names in svc: the template's
// hostname, or an Indexed Job's <job>-<index>, when the template's
// subdomain is svc (as the endpoints controller sets them).
func jobReady(d Desired, c *cluster, svc *plan.Service, jobs jobIndex, byOwner map[string][]*nodes.PodStatus, have []nodes.ReadyPod, hosts map[string]string) []nodes.ReadyPod {
	if svc.Selectorless || len(svc.Selector) == 0 || len(jobs) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(have))
	for _, r := range have {
		seen[r.Pod] = true
	}
	var out []nodes.ReadyPod
	for _, w := range jobs.candidates(svc) {
		t := w.Template
		if !selects(svc.Selector, t.Labels) {
			continue
		}
		job := w.Job
		if job == nil && w.CronJob != nil {
			job = &w.CronJob.Job
		}
		ports := jobPorts(svc, t)
		add := func(pod, ip, node string, labels map[string]string) {
			out = append(out, nodes.ReadyPod{Pod: pod, IP: ip, Ports: ports, Node: node})
			seen[pod] = true
			if t.Spec.Subdomain != svc.Name {
				return
			}
			switch _, name, _ := strings.Cut(pod, "/"); {
			case t.Spec.Hostname != "":
				hosts[pod] = t.Spec.Hostname
			case labels != nil && labels[labelJobIndex] != "" && labels["job-name"] != "":
				hosts[pod] = labels["job-name"] + "-" + labels[labelJobIndex]
			case labels == nil && job != nil && job.Indexed && len(name) > 6:
				// Another node's Indexed pod is <run>-<index>-<5 chars>
				// (jobs.go): its host name is the name without them.
				hosts[pod] = name[:len(name)-6]
			}
		}
		if w.Node == "" || w.Node == d.Node {
			for _, o := range byOwner[w.Key()] {
				if ready(o) && o.IP != "" && !seen[o.Key()] {
					add(o.Key(), o.IP, "", o.Labels)
				}
			}
			continue
		}
		if c == nil {
			continue
		}
		p, known := c.peers[w.Node]
		cidr, ok := c.cidrs[w.Node]
		if !known || !p.Reachable || !ok {
			continue
		}
		told := p.Headless[svc.Key()]
		limit := 1
		if job != nil {
			limit = int(max(job.Parallelism, 1))
		}
		taken := 0
		for _, name := range slices.Sorted(maps.Keys(told)) {
			key := svc.Namespace + "/" + name
			ip, err := netip.ParseAddr(told[name])
			if taken == limit || seen[key] || !strings.HasPrefix(name, w.Name+"-") || err != nil || !cidr.Contains(ip) {
				continue
			}
			add(key, ip.String(), w.Node, nil)
			taken++
		}
	}
	return out
}

// jobIndex holds the workloads with a pod template (Jobs, CronJobs) by
// each of their template's labels ("namespace\x00key=value"), so a
// Service looks only at the Jobs that carry one of its selector's labels,
// not at every workload.
type jobIndex map[string][]*plan.Workload

func newJobIndex(ws []plan.Workload) jobIndex {
	var ix jobIndex
	for i := range ws {
		w := &ws[i]
		if w.Template == nil {
			continue
		}
		if ix == nil {
			ix = jobIndex{}
		}
		for k, v := range w.Template.Labels {
			key := w.Namespace + "\x00" + k + "=" + v
			ix[key] = append(ix[key], w)
		}
	}
	return ix
}

// candidates are the Jobs whose template carries the rarest label of
// svc's selector (a superset of those it selects), in plan order.
func (ix jobIndex) candidates(svc *plan.Service) []*plan.Workload {
	var best []*plan.Workload
	first := true
	for k, v := range svc.Selector {
		if l := ix[svc.Namespace+"\x00"+k+"="+v]; first || len(l) < len(best) {
			best, first = l, false
		}
	}
	return best
}

// selects is an equality selector (a Service's) matching labels.
func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if l, ok := labels[k]; !ok || l != v {
			return false
		}
	}
	return true
}

// jobPorts are a Job pod's target ports of svc's ports: a named target
// port resolves to the template's container port of that name and
// protocol (0 when it has none).
func jobPorts(svc *plan.Service, t *plan.Pod) []int32 {
	out := make([]int32, len(svc.Ports))
	for pi, sp := range svc.Ports {
		out[pi] = sp.TargetPort
		if sp.TargetPortName == "" {
			continue
		}
		out[pi] = 0
		for _, c := range t.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == sp.TargetPortName && (cp.Protocol == "" && sp.Protocol == "TCP" || cp.Protocol == sp.Protocol) {
					out[pi] = cp.ContainerPort
				}
			}
		}
	}
	return out
}
