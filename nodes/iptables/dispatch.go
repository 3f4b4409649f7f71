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

// fragments renders routes sorted by key, reusing the fragment in prev
// (sorted by key too) of every service whose route did not change.
func (rr *renderer) fragments(routes []nodes.ServiceRoute, prev []*fragment) ([]*fragment, []string) {
	order := make([]int, len(routes))
	for i := range order {
		order[i] = i
	}
	// Sorted so that the rules do not depend on the caller's order.
	cmp := func(i, j int) int {
		if c := strings.Compare(routes[i].Namespace, routes[j].Namespace); c != 0 {
			return c
		}
		return strings.Compare(routes[i].Name, routes[j].Name)
	}
	slices.SortStableFunc(order, cmp)
	frags := make([]*fragment, 0, len(routes))
	var warns []string
	for k, i := range order {
		if k > 0 && cmp(i, order[k-1]) == 0 {
			warns = append(warns, fmt.Sprintf("service %s: listed twice; the first one is routed", routes[i].Key()))
			continue
		}
		// Both lists are sorted: walk prev alongside, no map needed.
		id := serviceID{routes[i].Namespace, routes[i].Name}
		for len(prev) > 0 && prev[0].id().less(id) {
			prev = prev[1:]
		}
		var f *fragment
		if len(prev) > 0 && prev[0].id() == id {
			f = prev[0]
		}
		if f == nil || !sameRoute(&f.route, &routes[i]) {
			f = rr.fragment(&routes[i])
		}
		frags = append(frags, f)
		warns = append(warns, f.warns...)
	}
	return frags, warns
}

func (a serviceID) less(b serviceID) bool {
	if a.namespace != b.namespace {
		return a.namespace < b.namespace
	}
	return a.name < b.name
}

// pairs calls fn for every service whose fragment differs between two
// key-sorted lists: (old, nil) removed, (nil, cur) added, (old, cur)
// re-rendered.
func pairs(old, cur []*fragment, fn func(old, cur *fragment)) {
	for len(old) > 0 || len(cur) > 0 {
		switch {
		case len(cur) == 0 || (len(old) > 0 && old[0].id().less(cur[0].id())):
			fn(old[0], nil)
			old = old[1:]
		case len(old) == 0 || cur[0].id().less(old[0].id()):
			fn(nil, cur[0])
			cur = cur[1:]
		default:
			if old[0] != cur[0] {
				fn(old[0], cur[0])
			}
			old, cur = old[1:], cur[1:]
		}
	}
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
	svcBkt := map[[3]byte][]string{}
	npBkt := map[int][]string{}
	npProto := map[int][2]bool{}
	var svcRej, extRej []string
	for _, f := range frags {
		for _, l := range f.svcLines {
			svcBkt[l.bucket] = append(svcBkt[l.bucket], l.rules)
		}
		for _, l := range f.npLines {
			npBkt[l.bucket] = append(npBkt[l.bucket], l.rules)
			p := npProto[l.bucket]
			p[boolIndex(l.proto == "udp")] = true
			npProto[l.bucket] = p
		}
		if f.svcRej != "" {
			svcRej = append(svcRej, f.svcRej)
		}
		if f.extRej != "" {
			extRej = append(extRej, f.extRej)
		}
	}
	memo := make(map[string]memoEntry, len(svcBkt)+len(npBkt)+2)
	defer func() { rr.memo = memo }()
	join := func(name string, parts []string) string {
		if e, ok := rr.memo[name]; ok && slices.Equal(e.parts, parts) {
			memo[name] = e
			return e.text
		}
		e := memoEntry{parts: parts, text: strings.Join(parts, "")}
		memo[name] = e
		return e.text
	}

	var w strings.Builder
	keys := make([][3]byte, 0, len(svcBkt))
	for k := range svcBkt {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y [3]byte) int { return strings.Compare(string(x[:]), string(y[:])) })
	for _, k := range keys {
		ch := n.serviceBucket(k)
		nat[ch] = join(ch, svcBkt[k])
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
		nat[ch] = join(ch, npBkt[k])
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

	filter[n.services] = join("filter "+n.services, svcRej)
	ext := join("filter "+n.external, extRej)
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

// memoEntry remembers the text of a dispatch chain and the fragment
// lines it was joined from: when a sync changes one service, the other
// chains are not joined again (the comparison is by string identity first,
// so it costs a pointer compare per line).
type memoEntry struct {
	parts []string
	text  string
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
