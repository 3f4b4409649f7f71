package iptables

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/nodes"
)

// Render computes the whole ruleset for routes. Warnings name routes or
// addresses that were skipped (invalid or IPv6 addresses, unknown
// protocols, duplicate services); they never stop the other services from
// being rendered.
func Render(cfg Config, routes []nodes.ServiceRoute) (Ruleset, []string) {
	rr := newRenderer(cfg)
	frags, warns := rr.fragments(routes, nil)
	return rr.ruleset(frags, rr.dispatch(frags)), warns
}

// fragments renders routes sorted by key, reusing the fragment in prev of
// every service whose route did not change.
func (rr *renderer) fragments(routes []nodes.ServiceRoute, prev map[string]*fragment) ([]*fragment, []string) {
	order := make([]int, len(routes))
	for i := range order {
		order[i] = i
	}
	keys := make([]string, len(routes))
	for i := range routes {
		keys[i] = routes[i].Key()
	}
	// Sorted so that the rules do not depend on the caller's order.
	slices.SortStableFunc(order, func(i, j int) int { return strings.Compare(keys[i], keys[j]) })
	frags := make([]*fragment, 0, len(routes))
	var warns []string
	for k, i := range order {
		if k > 0 && keys[i] == keys[order[k-1]] {
			warns = append(warns, fmt.Sprintf("service %s: listed twice; the first one is routed", keys[i]))
			continue
		}
		f := prev[keys[i]]
		if f == nil || !sameRoute(&f.route, &routes[i]) {
			f = rr.fragment(&routes[i])
		}
		frags = append(frags, f)
		warns = append(warns, f.warns...)
	}
	return frags, warns
}

// ruleset merges the services' own chains with the shared ones.
func (rr *renderer) ruleset(frags []*fragment, shared Ruleset) Ruleset {
	rs := Ruleset{TableNAT: make(map[string]string, len(shared[TableNAT])+4*len(frags)), TableFilter: shared[TableFilter]}
	for name, rules := range shared[TableNAT] {
		rs[TableNAT][name] = rules
	}
	for _, f := range frags {
		for _, c := range f.chains {
			rs[TableNAT][c.name] = c.rules
		}
	}
	return rs
}

// dispatch renders the chains shared by all services from fragments
// sorted by key: the dispatch chains and the fixed helpers.
func (rr *renderer) dispatch(frags []*fragment) Ruleset {
	n := rr.n
	nat, filter := map[string]string{}, map[string]string{}
	mark := fmt.Sprintf("0x%x", rr.cfg.MasqMark)

	// The services dispatch jumps per destination /24 into sub-dispatch
	// chains: a change to one service rewrites its /24's chain and this
	// short one, never a chain with a rule per service on the node.
	svcBkt := map[[3]byte]*strings.Builder{}
	npBkt := map[int]*strings.Builder{}
	npProto := map[int][2]bool{}
	var svcRej, extRej strings.Builder
	for _, f := range frags {
		for _, l := range f.svcLines {
			w := svcBkt[l.bucket]
			if w == nil {
				w = &strings.Builder{}
				svcBkt[l.bucket] = w
			}
			w.WriteString(l.rules)
		}
		for _, l := range f.npLines {
			w := npBkt[l.bucket]
			if w == nil {
				w = &strings.Builder{}
				npBkt[l.bucket] = w
			}
			w.WriteString(l.rules)
			p := npProto[l.bucket]
			p[boolIndex(l.proto == "udp")] = true
			npProto[l.bucket] = p
		}
		svcRej.WriteString(f.svcRej)
		extRej.WriteString(f.extRej)
	}

	var w strings.Builder
	keys := make([][3]byte, 0, len(svcBkt))
	for k := range svcBkt {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y [3]byte) int { return strings.Compare(string(x[:]), string(y[:])) })
	for _, k := range keys {
		ch := n.serviceBucket(k)
		nat[ch] = svcBkt[k].String()
		fmt.Fprintf(&w, "-A %s -d %d.%d.%d.0/24 -j %s\n", n.services, k[0], k[1], k[2], ch)
	}
	// Node ports last: an external IP may be a node address.
	switch {
	case rr.nodeIPs != nil:
		for _, ip := range rr.nodeIPs {
			line(&w, "-A ", n.services, " -d ", ip.String(), "/32 -j ", n.nodePorts)
		}
	case rr.cfg.LocalhostNodePorts:
		line(&w, "-A ", n.services, " -m addrtype --dst-type LOCAL -j ", n.nodePorts)
	default:
		line(&w, "-A ", n.services, " ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j ", n.nodePorts)
	}
	nat[n.services] = w.String()

	w.Reset()
	bks := make([]int, 0, len(npBkt))
	for k := range npBkt {
		bks = append(bks, k)
	}
	slices.Sort(bks)
	for _, k := range bks {
		ch := n.nodePortBucket(k)
		nat[ch] = npBkt[k].String()
		lo, hi := strconv.Itoa(k<<nodePortBucketBits), strconv.Itoa((k+1)<<nodePortBucketBits-1)
		for i, proto := range []string{"tcp", "udp"} {
			if npProto[k][i] {
				line(&w, "-A ", n.nodePorts, " -p ", proto, " -m ", proto, " --dport ", lo, ":", hi, " -j ", ch)
			}
		}
	}
	nat[n.nodePorts] = w.String()

	nat[n.markMasq] = fmt.Sprintf("-A %s -j MARK --set-xmark %s/%s\n", n.markMasq, mark, mark)
	nat[n.postrouting] = fmt.Sprintf("-A %[1]s -m mark ! --mark %[2]s/%[2]s -j RETURN\n"+
		"-A %[1]s -j MARK --set-xmark %[2]s/0x0\n"+
		"-A %[1]s -j MASQUERADE --random-fully\n", n.postrouting, mark)

	filter[n.services] = svcRej.String()
	ext := extRej.String()
	if rr.cfg.LocalhostNodePorts || slices.ContainsFunc(rr.nodeIPs, netip.Addr.IsLoopback) {
		// route_localnet=1 would let anyone on the link reach
		// 127.0.0.1 services; drop what is not a node-port DNAT
		// (CVE-2020-8558, as kube-proxy does).
		ext = "-A " + n.external + " ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n" + ext
	}
	filter[n.external] = ext
	filter[n.forward] = fmt.Sprintf("-A %[1]s -m conntrack --ctstate INVALID -j DROP\n"+
		"-A %[1]s -m mark --mark %[2]s/%[2]s -j ACCEPT\n"+
		"-A %[1]s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", n.forward, mark)
	return Ruleset{TableNAT: nat, TableFilter: filter}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
