package iptables

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

type jump struct {
	table, chain string
	spec         []string
}

// jumps are the rules berth adds to the built-in chains, as kube-proxy's
// iptablesJumpChains: NEW connections only where the chain only REJECTs.
func (r *Router) jumps() []jump {
	n := r.names
	newOnly := []string{"-m", "conntrack", "--ctstate", "NEW"}
	spec := func(pre []string, comment, target string) []string {
		return append(append(append([]string{}, pre...), "-m", "comment", "--comment", comment), "-j", target)
	}
	return []jump{
		{TableNAT, "PREROUTING", spec(nil, "berth service portals", n.services)},
		{TableNAT, "OUTPUT", spec(nil, "berth service portals", n.services)},
		{TableNAT, "POSTROUTING", spec(nil, "berth postrouting rules", n.postrouting)},
		{TableFilter, "INPUT", spec(newOnly, "berth externally-visible service portals", n.external)},
		// A pod's egress to this node itself (NetworkPolicy).
		{TableFilter, "INPUT", spec(newOnly, "berth network policies", n.netpol)},
		{TableFilter, "FORWARD", spec(newOnly, "berth service portals", n.services)},
		{TableFilter, "FORWARD", spec(newOnly, "berth externally-visible service portals", n.external)},
		{TableFilter, "FORWARD", spec(nil, "berth forwarding rules", n.forward)},
		{TableFilter, "OUTPUT", spec(newOnly, "berth service portals", n.services)},
	}
}

// createTargets creates the chains the jump rules point to, when missing.
func (r *Router) createTargets(ctx context.Context, live Ruleset) error {
	d := Delta{Write: map[string][]string{}}
	for _, j := range r.jumps() {
		target := j.spec[len(j.spec)-1]
		if _, ok := live[j.table][target]; !ok && !slices.Contains(d.Write[j.table], target) {
			d.Write[j.table] = append(d.Write[j.table], target)
		}
	}
	if d.Empty() {
		return nil
	}
	if _, err := r.exec(ctx, RestoreText(d, Ruleset{}), r.restoreBin, "-w", "--noflush"); err != nil {
		return fmt.Errorf("iptables: create chains: %w", err)
	}
	for t, names := range d.Write {
		for _, name := range names {
			live[t][name] = ""
		}
	}
	return nil
}

// ensureJumps inserts missing jump rules at the top of the built-in
// chains (kube-proxy prepends too: a REJECT or DROP earlier in the chain
// must not hide services).
func (r *Router) ensureJumps() error {
	for _, j := range r.jumps() {
		ok, err := r.ipt.Exists(j.table, j.chain, j.spec...)
		if err != nil {
			return fmt.Errorf("iptables: check jump %s/%s: %w", j.table, j.chain, err)
		}
		if ok {
			continue
		}
		if err := r.ipt.Insert(j.table, j.chain, 1, j.spec...); err != nil {
			return fmt.Errorf("iptables: add jump %s/%s: %w", j.table, j.chain, err)
		}
	}
	return nil
}

// ensureSysctls sets what the rules need from the kernel in this network
// namespace:
//   - route_localnet=1 for NodePorts on 127.0.0.1: the kernel otherwise
//     drops a DNATed packet whose source is a loopback address;
//   - bridge-nf-call-iptables=1, so that a reply from a pod to a pod on
//     the same bridge passes conntrack and is un-DNATed (without it a pod
//     calling a service backed by a neighbour gets the reply from the
//     wrong address). It exists only when br_netfilter is loaded.
//
// Failures are logged, not returned: routing from outside the node works
// without them.
func (r *Router) ensureSysctls() {
	set := func(path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			r.log.Warn("sysctl not available", "path", path, "err", err)
			return
		}
		if strings.TrimSpace(string(b)) == "1" {
			return
		}
		if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
			r.log.Warn("sysctl not set", "path", path, "err", err)
		}
	}
	if r.cfg.LocalhostNodePorts {
		set("/proc/sys/net/ipv4/conf/all/route_localnet")
	}
	const bridgeNF = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if _, err := os.Stat(bridgeNF); err != nil {
		r.log.Warn("br_netfilter is not loaded: pods on a bridge may not reach services backed by pods on the same bridge; run modprobe br_netfilter")
		return
	}
	set(bridgeNF)
}
