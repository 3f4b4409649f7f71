package iptables

import (
	"fmt"
	"maps"
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
	return RenderAll(cfg, routes, nodes.Firewall{})
}

// RenderAll is Render with the NetworkPolicies this node enforces.
func RenderAll(cfg Config, routes []nodes.ServiceRoute, fw nodes.Firewall) (Ruleset, []string) {
	rr := newRenderer(cfg)
	frags, warns := rr.fragments(routes, nil)
	shared := rr.dispatch(frags)
	warns = append(warns, rr.policy(&fw, shared)...)
	return rr.ruleset(frags, shared), warns
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
	var svcBkt, masqBkt buckets
	npBkt := map[int][]string{}
	npProto := map[int][2]bool{}
	var svcRej, extRej []string
	for _, f := range frags {
		for _, l := range f.svcLines {
			svcBkt.add(l.bucket, l.rules)
		}
		for _, l := range f.masqLines {
			masqBkt.add(l.bucket, l.rules)
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
	memo := make(map[string]memoEntry, len(svcBkt.keys)+len(masqBkt.keys)+len(npBkt)+2)
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
	unions := make(map[string]*unionEntry, len(masqBkt.keys))
	defer func() { rr.unions = unions }()

	// Services: per /24, then per /27 leaf.
	var w strings.Builder
	svcBkt.twoLevel(&rr.svcLevels, &w, n.services, n.serviceBucket, n.serviceLeaf, nat, join)
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

	w.Reset()
	masqBkt.twoLevel(&rr.masqLevels, &w, n.masqDNAT, n.masqBucket, n.masqLeaf, nat, func(leaf string, lines []string) string {
		e := rr.unions[leaf].update(lines)
		unions[leaf] = e
		return e.text
	})
	nat[n.masqDNAT] = w.String()

	nat[n.markMasq] = fmt.Sprintf("-A %s -j MARK --set-xmark %s/%s\n", n.markMasq, mark, mark)
	nat[n.postrouting] = fmt.Sprintf("-A %[1]s -m conntrack --ctstate DNAT -j %[3]s\n"+
		"-A %[1]s -m mark ! --mark %[2]s/%[2]s -j RETURN\n"+
		"-A %[1]s -j MARK --set-xmark %[2]s/0x0\n"+
		"-A %[1]s -j MASQUERADE --random-fully\n", n.postrouting, mark, n.masqDNAT)

	filter[n.services] = join("filter "+n.services, svcRej)
	ext := join("filter "+n.external, extRej)
	if rr.cfg.LocalhostNodePorts || slices.ContainsFunc(rr.nodeIPs, netip.Addr.IsLoopback) {
		// route_localnet=1 would let anyone on the link reach
		// 127.0.0.1 services; drop what is not a node-port DNAT
		// (CVE-2020-8558, as kube-proxy does).
		ext = "-A " + n.external + " ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n" + ext
	}
	filter[n.external] = ext
	// New connections pass the NetworkPolicies first (policy.go), before
	// a masquerade mark or the pod subnet accepts them.
	filter[n.forward] = fmt.Sprintf("-A %[1]s -m conntrack --ctstate INVALID -j DROP\n"+
		"-A %[1]s -m conntrack --ctstate NEW -j %[3]s\n"+
		"-A %[1]s -m mark --mark %[2]s/%[2]s -j ACCEPT\n"+
		"-A %[1]s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", n.forward, mark, n.netpol)
	if p := rr.cfg.PodCIDR; p.IsValid() {
		// Pods forward through this node (FORWARD policy DROP too), but a
		// service without endpoints must still refuse: the REJECT chains
		// first, since FORWARD may reach this chain before them.
		filter[n.forward] += fmt.Sprintf("-A %[1]s -m conntrack --ctstate NEW -j %[3]s\n"+
			"-A %[1]s -m conntrack --ctstate NEW -j %[4]s\n"+
			"-A %[1]s -s %[2]s -j ACCEPT\n-A %[1]s -d %[2]s -j ACCEPT\n", n.forward, p, n.services, n.external)
	}
	return Ruleset{TableNAT: nat, TableFilter: filter}
}

// unionEntry is a chain whose lines several services share (the same pod
// or node behind two services): each line once, sorted. It counts the
// lines of the parts it was built from, so that when one service changes
// only the lines that differ are counted again, not every backend on the
// node.
type unionEntry struct {
	parts  []string
	counts map[string]int
	text   string
}

// update returns the entry for parts, reusing (and changing) e.
func (e *unionEntry) update(parts []string) *unionEntry {
	if e == nil {
		e = &unionEntry{counts: map[string]int{}}
	}
	old := e.parts
	// Unchanged services keep their strings and their order: skip the
	// common prefix and suffix, count only what lies between.
	i := 0
	for i < len(old) && i < len(parts) && old[i] == parts[i] {
		i++
	}
	j := 0
	for j < len(old)-i && j < len(parts)-i && old[len(old)-1-j] == parts[len(parts)-1-j] {
		j++
	}
	changed := e.text == "" && len(parts) > 0
	for _, l := range old[i : len(old)-j] {
		if e.counts[l]--; e.counts[l] == 0 {
			delete(e.counts, l)
			changed = true
		}
	}
	for _, l := range parts[i : len(parts)-j] {
		if e.counts[l]++; e.counts[l] == 1 {
			changed = true
		}
	}
	e.parts = parts
	if changed {
		e.text = strings.Join(slices.Sorted(maps.Keys(e.counts)), "")
	}
	return e
}

// buckets groups lines by destination /24 or /27, in the order they come. Lines
// of one bucket tend to come in runs, so the last bucket is remembered
// instead of a map access per line.
type buckets struct {
	index map[[4]byte]int
	keys  [][4]byte
	lines [][]string
	last  int
}

func (b *buckets) add(k [4]byte, line string) {
	if len(b.keys) == 0 || b.keys[b.last] != k {
		i, ok := b.index[k]
		if !ok {
			if b.index == nil {
				b.index = map[[4]byte]int{}
			}
			i = len(b.keys)
			b.index[k] = i
			b.keys = append(b.keys, k)
			b.lines = append(b.lines, nil)
		}
		b.last = i
	}
	b.lines[b.last] = append(b.lines[b.last], line)
}

// twoLevel writes the buckets (keyed by /27) as /24 chains (named by mid)
// jumping to /27 leaves (named by leaf, their rules joined by text), and
// the jumps of the top chain to the /24 chains to w. Both levels stay
// short, so a change rewrites at most 32 addresses' rules and a packet
// passes few rules on its way. When the set of leaves is the one of last
// time (memo), only the leaves are joined again.
func (b *buckets) twoLevel(memo *levels, w *strings.Builder, top string, mid func([3]byte) string, leaf func([4]byte) string,
	nat map[string]string, text func(leaf string, lines []string) string) {
	if !slices.Equal(memo.keys, b.keys) {
		*memo = levels{keys: b.keys, order: b.sorted(), mids: map[string]string{}}
		memo.names = make([]string, len(b.keys))
		var m, t strings.Builder
		var midName string
		for _, i := range memo.order {
			k := b.keys[i]
			memo.names[i] = leaf(k)
			if c := mid([3]byte{k[0], k[1], k[2]}); c != midName {
				if midName != "" {
					memo.mids[midName] = m.String()
				}
				midName = c
				m.Reset()
				fmt.Fprintf(&t, "-A %s -d %d.%d.%d.0/24 -j %s\n", top, k[0], k[1], k[2], c)
			}
			fmt.Fprintf(&m, "-A %s -d %d.%d.%d.%d/27 -j %s\n", midName, k[0], k[1], k[2], k[3], memo.names[i])
		}
		if midName != "" {
			memo.mids[midName] = m.String()
		}
		memo.top = t.String()
	}
	for _, i := range memo.order {
		nat[memo.names[i]] = text(memo.names[i], b.lines[i])
	}
	for name, rules := range memo.mids {
		nat[name] = rules
	}
	w.WriteString(memo.top)
}

// levels remembers the chains twoLevel derived from one set of leaves.
type levels struct {
	keys  [][4]byte // in the order the buckets met them
	order []int     // keys' indexes in address order
	names []string  // leaf chain names, by key index
	mids  map[string]string
	top   string
}

// sorted lists the buckets' indexes in address order.
func (b *buckets) sorted() []int {
	order := make([]int, len(b.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(string(b.keys[x][:]), string(b.keys[y][:])) })
	return order
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
