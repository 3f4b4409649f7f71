package address

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// RuleLoadBalancer is the rule of load-balancer address diagnostics.
const RuleLoadBalancer = "load-balancer-ip"

// pool is the load-balancer addresses: disjoint IPv4 prefixes, sorted,
// each contributing its usable addresses in turn.
type pool struct {
	prefixes []netip.Prefix
	size     uint64
}

// usable is how many addresses of p are handed out, and the offset of the
// first: not the network and broadcast addresses of a prefix that has
// hosts besides them.
func usable(p netip.Prefix) (n, first uint64) {
	bits := 32 - p.Bits()
	if bits <= 1 {
		return 1 << bits, 0
	}
	return 1<<bits - 2, 1
}

// newPool collects the pool from every inventory Node's
// spec.loadBalancerPool and extra (the compile option), dropping prefixes
// that others contain.
func newPool(set *object.Set, extra []string) (pool, []diag.Diagnostic) {
	var diags []diag.Diagnostic
	var all []netip.Prefix
	add := func(s string, bad func(string)) {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			bad(fmt.Sprintf("%q is not a CIDR prefix such as 198.51.100.0/28", s))
		case !p.Addr().Is4():
			bad(fmt.Sprintf("%s: load-balancer addresses are IPv4 only", s))
		default:
			all = append(all, p.Masked())
		}
	}
	for _, n := range object.Typed[api.Node](set, "Node") {
		for i, s := range n.V.Spec.LoadBalancerPool {
			add(s, func(msg string) {
				diags = append(diags, n.Object.Diag(diag.Error, RuleLoadBalancer, fmt.Sprintf("spec.loadBalancerPool[%d]", i), "%s", msg))
			})
		}
	}
	for _, s := range extra {
		add(s, func(msg string) {
			diags = append(diags, diag.Diagnostic{Severity: diag.Error, Rule: RuleLoadBalancer, Message: "--load-balancer-pool " + msg})
		})
	}
	// Sorted by address, wider first: a prefix inside the one before it
	// adds nothing.
	slices.SortFunc(all, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), a.Bits()-b.Bits())
	})
	var pl pool
	for _, p := range all {
		if n := len(pl.prefixes); n > 0 && pl.prefixes[n-1].Contains(p.Addr()) {
			continue
		}
		pl.prefixes = append(pl.prefixes, p)
		n, _ := usable(p)
		pl.size += n
	}
	return pl, diags
}

// addr is the slot-th address of the pool.
func (pl pool) addr(slot uint64) netip.Addr {
	for _, p := range pl.prefixes {
		n, first := usable(p)
		if slot < n {
			return addOffset(p.Addr(), first+slot)
		}
		slot -= n
	}
	panic("load-balancer pool slot out of range")
}

// slot is the inverse of addr; ok is false outside the pool.
func (pl pool) slot(a netip.Addr) (uint64, bool) {
	var base uint64
	for _, p := range pl.prefixes {
		n, first := usable(p)
		if p.Contains(a) {
			off := uint64(ipv4(a) - ipv4(p.Addr()))
			if off < first || off-first >= n {
				return 0, false
			}
			return base + off - first, true
		}
		base += n
	}
	return 0, false
}

func ipv4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// loadBalancerIPs gives every LoadBalancer Service without
// spec.loadBalancerIP an address from the pool, by the same hash-and-probe
// rule as ClusterIPs (so a Service keeps its address as others come and
// go, as long as the pool stays the same). Explicit addresses inside the
// pool are reserved first.
func loadBalancerIPs(out []plan.Service, objs []*object.Object, pl pool) []diag.Diagnostic {
	var diags []diag.Diagnostic
	taken := map[uint64]string{}
	var auto []string
	index := map[string]int{}
	for i := range out {
		s := &out[i]
		if s.Type != "LoadBalancer" {
			continue
		}
		if s.LoadBalancerIP == "" {
			auto = append(auto, s.Key())
			index[s.Key()] = i
			continue
		}
		if a, err := netip.ParseAddr(s.LoadBalancerIP); err == nil {
			if slot, ok := pl.slot(a); ok {
				taken[slot] = s.Key()
			}
		}
	}
	if len(auto) == 0 {
		return nil
	}
	if pl.size == 0 {
		for _, id := range auto {
			diags = append(diags, objs[index[id]].Diag(diag.Warning, RuleLoadBalancer, "spec.type",
				"LoadBalancer without spec.loadBalancerIP, and no Node has a spec.loadBalancerPool (nor --load-balancer-pool): it answers on its node ports only; set one of them"))
		}
		return diags
	}
	sortStrings(auto)
	got, left := probe(auto, pl.size, taken)
	for id, slot := range got {
		out[index[id]].LoadBalancerIP = pl.addr(slot).String()
	}
	for _, id := range left {
		diags = append(diags, objs[index[id]].Diag(diag.Error, RuleLoadBalancer, "spec.type",
			"no free address is left in the load-balancer pool (%d addresses); add addresses to a Node's spec.loadBalancerPool, or set spec.loadBalancerIP", pl.size))
	}
	return diags
}
