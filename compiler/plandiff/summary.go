package plandiff

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"berth.dev/berth/compiler/disruption"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/selector"
)

// WritePlan prints a plan's summary for people: per node its pods, then
// the workloads and the services with their addresses. It never prints
// values (env, files), so nothing sensitive can show. node limits the
// output to one node's part ("" for all).
func WritePlan(w io.Writer, p *plan.Plan, node string) error {
	bw := bufio.NewWriter(w)
	pods := 0
	for _, n := range p.Nodes {
		pods += len(n.Pods)
	}
	policies := ""
	if len(p.NetworkPolicies) > 0 {
		policies = fmt.Sprintf(", %d network policies", len(p.NetworkPolicies))
		if len(p.NetworkPolicies) == 1 {
			policies = ", 1 network policy"
		}
	}
	fmt.Fprintf(bw, "Plan %s (%s): %s, %s, %s, %s%s.\n", p.Revision, p.FormatVersion,
		count(len(p.Nodes), "node"), count(pods, "pod"), count(len(p.Workloads), "workload"), count(len(p.Services), "service"), policies)
	for _, n := range p.Nodes {
		if node != "" && n.Node.Name != node {
			continue
		}
		fmt.Fprintf(bw, "\nNode %s (pod CIDR %s%s): %s\n", n.Node.Name, n.Node.PodCIDR, address(n.Node.Address), count(len(n.Pods), "pod"))
		tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
		for _, pod := range n.Pods {
			fmt.Fprintf(tw, "  %s\t%s %s\t%s\n", pod.Key(), pod.Owner.Kind, pod.Owner.Name, pod.Hash)
		}
		tw.Flush()
	}
	if len(p.Workloads) > 0 {
		fmt.Fprintf(bw, "\nWorkloads:\n")
		tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
		spread := spreadSets(p)
		for i := range p.Workloads {
			wl := &p.Workloads[i]
			if node != "" && wl.Node != "" && wl.Node != node {
				continue
			}
			where, rollout := "", Rollout(wl)
			if wl.Node != "" {
				where = "on " + wl.Node
			}
			if ns := spread[wl.Key()]; len(ns) > 1 {
				// Each node orders its own ordinals only: say so where
				// the set spans several.
				where = "on " + strings.Join(ns, ",")
				rollout += "; each node orders its own ordinals"
			}
			fmt.Fprintf(tw, "  %s %s/%s\t%s\t%s\t%s\n", wl.Kind, wl.Namespace, wl.Name, wl.Revision, where, rollout)
		}
		tw.Flush()
	}
	writeWaves(bw, p, node)
	if len(p.Services) > 0 {
		fmt.Fprintf(bw, "\nServices:\n")
		tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
		for _, s := range p.Services {
			var ports []string
			for _, sp := range s.Ports {
				ports = append(ports, portText(sp))
			}
			external := ""
			if ips := s.External(); len(ips) > 0 {
				external = "\texternal " + strings.Join(ips, ",")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s%s\n", s.Key(), s.Type, s.ClusterIP, strings.Join(ports, ","), count(len(s.Endpoints), "endpoint"), external)
		}
		tw.Flush()
	}
	writePolicies(bw, p, node)
	writeBudgets(bw, p)
	return bw.Flush()
}

// writePolicies lists each NetworkPolicy with the types it isolates in
// and the planned pods it selects (of node, when given).
func writePolicies(w io.Writer, p *plan.Plan, node string) {
	if len(p.NetworkPolicies) == 0 {
		return
	}
	fmt.Fprintf(w, "\nNetwork policies:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := range p.NetworkPolicies {
		np := &p.NetworkPolicies[i]
		var types []string
		if np.Ingress {
			types = append(types, fmt.Sprintf("ingress (%s)", count(len(np.IngressRules), "rule")))
		}
		if np.Egress {
			types = append(types, fmt.Sprintf("egress (%s)", count(len(np.EgressRules), "rule")))
		}
		sel, err := selector.FromPlan(&np.PodSelector)
		selected := 0
		for _, n := range p.Nodes {
			if node != "" && n.Node.Name != node {
				continue
			}
			for j := range n.Pods {
				if err == nil && n.Pods[j].Namespace == np.Namespace && sel.Matches(n.Pods[j].Labels) {
					selected++
				}
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\tisolates %s\n", np.Key(), strings.Join(types, ", "), count(selected, "pod"))
	}
	tw.Flush()
}

// writeBudgets lists each PodDisruptionBudget with the pods it expects
// cluster-wide and the disruptions it allows when they are all healthy.
func writeBudgets(w io.Writer, p *plan.Plan) {
	if len(p.DisruptionBudgets) == 0 {
		return
	}
	fmt.Fprintf(w, "\nDisruption budgets:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := range p.DisruptionBudgets {
		b := &p.DisruptionBudgets[i]
		rule := "-"
		switch {
		case b.MinAvailable != nil:
			rule = "minAvailable " + b.MinAvailable.String()
		case b.MaxUnavailable != nil:
			rule = "maxUnavailable " + b.MaxUnavailable.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s expected, %d healthy wanted\tallows %s\t%s\n", b.Key(), rule, count(int(b.ExpectedPods), "pod"),
			b.DesiredHealthy, count(disruption.Allowed(b, int(b.ExpectedPods)), "disruption"), b.UnhealthyPodEvictionPolicy)
	}
	tw.Flush()
}

func portText(sp plan.ServicePort) string {
	s := fmt.Sprint(sp.Port)
	if sp.NodePort != 0 {
		s += fmt.Sprintf(":%d", sp.NodePort)
	}
	s += "/" + sp.Protocol
	switch {
	case sp.TargetPortName != "":
		s += "->" + sp.TargetPortName
	case sp.TargetPort != sp.Port:
		s += fmt.Sprintf("->%d", sp.TargetPort)
	}
	return s
}

func address(a string) string {
	if a == "" {
		return ""
	}
	return ", address " + a
}

func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// writeWaves lists the stages of a plan that has more than one (or
// hooks): in order, each with its workloads.
func writeWaves(w io.Writer, p *plan.Plan, node string) {
	stages := plan.Stages(p.Workloads)
	fail := false
	for i := range p.Workloads {
		fail = fail || p.Workloads[i].Hook == plan.HookSyncFail
	}
	if len(stages) < 2 && !fail && (len(stages) == 0 || stages[0].Hook == "") {
		return
	}
	fmt.Fprintf(w, "\nWaves (each starts when the ones before it are healthy on every node):\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(label string, pick func(*plan.Workload) bool) {
		for i := range p.Workloads {
			wl := &p.Workloads[i]
			if !pick(wl) || node != "" && wl.Node != "" && wl.Node != node {
				continue
			}
			extra := ""
			if len(wl.HookDelete) > 0 {
				extra = "\tdelete policy " + strings.Join(wl.HookDelete, ",")
			}
			fmt.Fprintf(tw, "  %s\t%s %s/%s%s\n", label, wl.Kind, wl.Namespace, wl.Name, extra)
			label = ""
		}
	}
	for _, st := range stages {
		line(st.String(), func(wl *plan.Workload) bool { return wl.Hook != plan.HookSyncFail && wl.Stage() == st })
	}
	line("SyncFail (when the revision fails)", func(wl *plan.Workload) bool { return wl.Hook == plan.HookSyncFail })
	tw.Flush()
}

// spreadSets are the nodes that run each StatefulSet's ordinals, in the
// plan's node order, by workload key.
func spreadSets(p *plan.Plan) map[string][]string {
	out := map[string][]string{}
	for _, n := range p.Nodes {
		for i := range n.Pods {
			pod := &n.Pods[i]
			if pod.Owner.Kind != "StatefulSet" {
				continue
			}
			k := "StatefulSet/" + pod.Namespace + "/" + pod.Owner.Name
			if ns := out[k]; len(ns) == 0 || ns[len(ns)-1] != n.Node.Name {
				out[k] = append(ns, n.Node.Name)
			}
		}
	}
	return out
}
