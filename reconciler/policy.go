package reconciler

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/selector"
	"berth.dev/berth/nodes"
)

// Firewall computes what this node enforces of d's NetworkPolicies, as
// Kubernetes defines them: a pod that no policy of a type selects is open
// for that type; once selected, only what the union of those policies'
// rules allows passes (replies to allowed connections pass: the rules
// apply to new connections only).
//
// The pods are this node's (observed, with their IPs and labels) and the
// other nodes' as they told this node (Desired.Peers, while they answer),
// each only at an address inside its node's pod CIDR (host-network pods
// have none and are never selected). Selectors match labels as they are
// now, so a pod of an older revision is judged by its own labels.
//
// Each connection is checked for both ends on the node of its
// destination pod, and for the source's egress on the source's node
// unless the destination is another node's pod or transit port: so this
// node lists its own pods (ingress and egress) and, for connections
// arriving from other nodes, the egress of their pods it knows; a source
// in another node's pod CIDR that it does not know is dropped while any
// policy isolates egress (fail closed: it may be such a pod).
func Firewall(d Desired, observed nodes.NodeState) nodes.Firewall {
	var fw nodes.Firewall
	if len(d.NetworkPolicies) == 0 {
		return fw
	}
	e := newEvaluator(d, observed)
	fw.TransitFrom, fw.TransitTo = TransitPortMin, TransitPortMax
	for _, p := range e.pods {
		if !p.local {
			continue
		}
		sel := e.selecting(p)
		g := nodes.GuardedPod{Pod: p.key, IP: p.ipText}
		if len(sel.in) > 0 {
			g.Ingress = e.ingress(sel.in, sel.inKey, p)
		}
		if len(sel.out) > 0 {
			g.Egress = e.egress(sel.out, sel.outKey)
		}
		if g.Ingress != nil || g.Egress != nil {
			fw.Pods = append(fw.Pods, g)
		}
	}
	for _, n := range e.others {
		pn := nodes.PeerNode{Name: n.name, Address: n.address, PodCIDR: n.cidr.String()}
		for _, p := range e.pods {
			if p.node != n.name {
				continue
			}
			rp := nodes.RemotePod{Pod: p.key, IP: p.ipText}
			if sel := e.selecting(p); len(sel.out) > 0 {
				rp.Egress = e.egress(sel.out, sel.outKey)
			}
			pn.Pods = append(pn.Pods, rp)
		}
		fw.Nodes = append(fw.Nodes, pn)
	}
	for i := range d.NetworkPolicies {
		if d.NetworkPolicies[i].Egress {
			fw.DropUnknown = len(fw.Nodes) > 0
			break
		}
	}
	return fw
}

// fwPod is a pod a policy may select or name as a peer.
type fwPod struct {
	key, ns string
	ip      netip.Addr
	ipText  string // ip as written (netip parses canonical text only)
	labels  map[string]string
	local   bool
	node    string
	ports   []plan.ContainerPort // local pods: their containers' ports, for named ports
}

type fwNode struct {
	name, address string
	cidr          netip.Prefix
}

// cpolicy is a policy with its selectors parsed.
type cpolicy struct {
	p       *plan.NetworkPolicy
	sel     selector.Selector
	bad     bool // a selector that does not parse (validation refuses it): selects every pod, allows nothing
	in, out []crule
}

type crule struct {
	ports []plan.PolicyPort
	peers []cpeer // none: every peer
}

type cpeer struct {
	pods, nss *selector.Selector // nil: absent
	block     *nodes.Block
	none      bool   // matches nothing (an IPv6 block, a selector that does not parse)
	key       string // what it selects, but the policy's namespace (see peersKey)
}

type evaluator struct {
	d      Desired
	pods   []*fwPod // sorted by IP
	byNS   map[string][]*fwPod
	others []fwNode
	pols   []cpolicy
	polsNS map[string][]int // policy indexes by namespace
	nsSel  map[string]map[string]string
	// memos
	sets     map[setKey]*nodes.PeerSet
	byPeers  map[string]*nodes.PeerSet // by peersKey
	selected map[string]selection      // selecting's result by labelsSig
	egressOf map[string]*nodes.Allowed
	ingOf    map[string]*nodes.Allowed
	named    map[[2]int][]nodes.AllowRule // egress rules of named ports, by policy and rule
}

// selection is what selecting found for a label set, with the policy
// sets' keys.
type selection struct {
	in, out       []int
	inKey, outKey string
}

type setKey struct {
	pol, rule int
	egress    bool
}

func newEvaluator(d Desired, observed nodes.NodeState) *evaluator {
	e := &evaluator{d: d, byNS: map[string][]*fwPod{}, polsNS: map[string][]int{}, nsSel: map[string]map[string]string{},
		sets: map[setKey]*nodes.PeerSet{}, byPeers: map[string]*nodes.PeerSet{}, selected: map[string]selection{}, egressOf: map[string]*nodes.Allowed{}, ingOf: map[string]*nodes.Allowed{}, named: map[[2]int][]nodes.AllowRule{}}
	var self netip.Prefix
	for _, n := range d.Nodes {
		cidr, err := netip.ParsePrefix(n.PodCIDR)
		if err != nil || !cidr.Addr().Is4() {
			continue
		}
		if n.Name == d.Node {
			self = cidr.Masked()
		} else {
			e.others = append(e.others, fwNode{name: n.Name, address: n.Address, cidr: cidr.Masked()})
		}
	}
	slices.SortFunc(e.others, func(a, b fwNode) int { return strings.Compare(a.name, b.name) })
	byKey, byOwner := e.containerPorts()
	for i := range observed.Pods {
		o := &observed.Pods[i]
		ip, err := netip.ParseAddr(o.IP)
		if !berthOwns(o) || err != nil || !self.IsValid() || !self.Contains(ip) {
			continue
		}
		ports, ok := byKey[o.Key()]
		if !ok {
			ports = byOwner[ownerOf(o)]
		}
		e.add(&fwPod{key: o.Key(), ns: o.Namespace, ip: ip, ipText: o.IP, labels: o.Labels, local: true, node: d.Node, ports: ports})
	}
	for _, n := range e.others {
		peer, ok := d.Peers[n.name]
		if !ok || !peer.Reachable {
			continue // what a node that does not answer said may be stale: its pods match nothing
		}
		for _, pp := range peer.Pods {
			ip, err := netip.ParseAddr(pp.IP)
			if err != nil || !n.cidr.Contains(ip) {
				continue // a node speaks for its own pod CIDR only
			}
			e.add(&fwPod{key: pp.Namespace + "/" + pp.Name, ns: pp.Namespace, ip: ip, ipText: pp.IP, labels: pp.Labels, node: n.name})
		}
	}
	// One address, two pods (a report racing a restart): keep one, a local
	// pod before a reported one, so an address is judged once.
	slices.SortStableFunc(e.pods, func(a, b *fwPod) int {
		return cmp.Or(a.ip.Compare(b.ip), cmpBool(b.local, a.local), strings.Compare(a.key, b.key))
	})
	e.pods = slices.CompactFunc(e.pods, func(a, b *fwPod) bool { return a.ip == b.ip })
	e.byNS = map[string][]*fwPod{}
	for _, p := range e.pods {
		e.byNS[p.ns] = append(e.byNS[p.ns], p)
	}
	for i := range d.NetworkPolicies {
		e.pols = append(e.pols, compile(&d.NetworkPolicies[i]))
		e.polsNS[d.NetworkPolicies[i].Namespace] = append(e.polsNS[d.NetworkPolicies[i].Namespace], i)
	}
	return e
}

func (e *evaluator) add(p *fwPod) { e.pods = append(e.pods, p) }

// containerPorts are the container ports of the pods this node may run,
// by pod key (the plan's, and earlier revisions' from Desired.Known) and
// by owner for Job and CronJob pods, which are made at run time from
// their workload's template.
func (e *evaluator) containerPorts() (byKey, byOwner map[string][]plan.ContainerPort) {
	byKey, byOwner = map[string][]plan.ContainerPort{}, map[string][]plan.ContainerPort{}
	portsOf := func(p *plan.Pod) []plan.ContainerPort {
		var ps []plan.ContainerPort
		for _, c := range p.Spec.Containers {
			ps = append(ps, c.Ports...)
		}
		return ps
	}
	for i := range e.d.Pods {
		byKey[e.d.Pods[i].Key()] = portsOf(&e.d.Pods[i])
	}
	for _, pods := range e.d.Known {
		for i := range pods {
			if _, ok := byKey[pods[i].Key()]; !ok {
				byKey[pods[i].Key()] = portsOf(&pods[i])
			}
		}
	}
	for i := range e.d.Workloads {
		if w := &e.d.Workloads[i]; w.Template != nil {
			byOwner[ownerKey(w.Kind, w.Namespace, w.Name)] = portsOf(w.Template)
		}
	}
	return byKey, byOwner
}

func compile(p *plan.NetworkPolicy) cpolicy {
	c := cpolicy{p: p}
	sel, err := selector.FromPlan(&p.PodSelector)
	c.sel, c.bad = sel, err != nil
	if c.bad {
		// Fail closed: isolate every pod of the namespace, allow nothing.
		c.sel = selector.Selector{}
		return c
	}
	conv := func(rs []plan.PolicyRule) []crule {
		out := make([]crule, 0, len(rs))
		for _, r := range rs {
			cr := crule{ports: r.Ports}
			for _, pe := range r.Peers {
				cr.peers = append(cr.peers, compilePeer(pe))
			}
			out = append(out, cr)
		}
		return out
	}
	c.in, c.out = conv(p.IngressRules), conv(p.EgressRules)
	return c
}

func compilePeer(pe plan.PolicyPeer) cpeer {
	c := compilePeerSelectors(pe)
	switch {
	case c.none:
		c.key = "none"
	case c.block != nil:
		c.key = "block " + c.block.CIDR + " " + strings.Join(c.block.Except, " ")
	default:
		c.key = "pods " + selectorKey(c.pods) + " in " + selectorKey(c.nss)
	}
	return c
}

// selectorKey tells a selector apart from another: absent ("-") is not
// empty ("{}").
func selectorKey(s *selector.Selector) string {
	if s == nil {
		return "-"
	}
	return "{" + s.String() + "}"
}

func compilePeerSelectors(pe plan.PolicyPeer) cpeer {
	var c cpeer
	if pe.IPBlock != nil {
		cidr, err := netip.ParsePrefix(pe.IPBlock.CIDR)
		if err != nil || !cidr.Addr().Is4() {
			// IPv6 matches no traffic of berth's IPv4 pods.
			return cpeer{none: true}
		}
		b := nodes.Block{CIDR: cidr.Masked().String()}
		for _, x := range pe.IPBlock.Except {
			if xp, err := netip.ParsePrefix(x); err == nil && xp.Addr().Is4() {
				b.Except = append(b.Except, xp.Masked().String())
			}
		}
		slices.Sort(b.Except)
		c.block = &b
		return c
	}
	if pe.PodSelector != nil {
		s, err := selector.FromPlan(pe.PodSelector)
		if err != nil {
			return cpeer{none: true}
		}
		c.pods = &s
	}
	if pe.NamespaceSelector != nil {
		s, err := selector.FromPlan(pe.NamespaceSelector)
		if err != nil {
			return cpeer{none: true}
		}
		c.nss = &s
	}
	return c
}

// selecting returns the policies (indexes) that isolate p for ingress
// and for egress.
func (e *evaluator) selecting(p *fwPod) selection {
	pols := e.polsNS[p.ns]
	if len(pols) == 0 {
		return selection{}
	}
	// Pods of one workload share their labels: match once per label set.
	sig := labelsSig(p.ns, p.labels)
	if r, ok := e.selected[sig]; ok {
		return r
	}
	var in, out []int
	for _, i := range pols {
		c := &e.pols[i]
		if !c.sel.Matches(p.labels) {
			continue
		}
		if c.p.Ingress {
			in = append(in, i)
		}
		if c.p.Egress {
			out = append(out, i)
		}
	}
	r := selection{in: in, out: out, inKey: polKey(in), outKey: polKey(out)}
	e.selected[sig] = r
	return r
}

// ingress is what local pod p may receive under policies pols: each
// rule's peers as sources, its ports resolved on p (a named port is one
// of p's containers' ports of that name and protocol).
func (e *evaluator) ingress(pols []int, polsKey string, p *fwPod) *nodes.Allowed {
	key := polsKey + "|" + portKey(p.ports)
	if a := e.ingOf[key]; a != nil {
		return a
	}
	a := &nodes.Allowed{ID: "ingress " + e.polID(pols) + "|" + portKey(p.ports), Rules: []nodes.AllowRule{}}
	for _, i := range pols {
		if e.pols[i].bad {
			continue
		}
		for j := range e.pols[i].in {
			r := &e.pols[i].in[j]
			ports, ok := resolvePorts(r.ports, p.ports)
			if !ok {
				continue // only named ports p does not have: allows nothing
			}
			peers, ok := e.set(i, j, false)
			if !ok {
				continue
			}
			a.Rules = append(a.Rules, nodes.AllowRule{Ports: ports, Peers: peers})
		}
	}
	e.ingOf[key] = a
	return a
}

// egress is what a pod may send to this node's pods (and, when it is
// local, to anything but another node's pods) under policies pols. A
// rule's named ports resolve on each destination pod, so such a rule
// becomes one rule per distinct resolution.
func (e *evaluator) egress(pols []int, key string) *nodes.Allowed {
	if a := e.egressOf[key]; a != nil {
		return a
	}
	a := &nodes.Allowed{ID: "egress " + e.polID(pols), Rules: []nodes.AllowRule{}}
	for _, i := range pols {
		if e.pols[i].bad {
			continue
		}
		for j := range e.pols[i].out {
			a.Rules = append(a.Rules, e.egressRule(i, j)...)
		}
	}
	e.egressOf[key] = a
	return a
}

func (e *evaluator) egressRule(i, j int) []nodes.AllowRule {
	r := &e.pols[i].out[j]
	var numeric []plan.PolicyPort
	hasNamed := false
	for _, pp := range r.ports {
		if pp.Name != "" {
			hasNamed = true
		} else {
			numeric = append(numeric, pp)
		}
	}
	var out []nodes.AllowRule
	peers, ok := e.set(i, j, true)
	if len(r.ports) == 0 || len(numeric) > 0 {
		if ok {
			ports, _ := resolvePorts(numeric, nil)
			out = append(out, nodes.AllowRule{Ports: ports, Peers: peers})
		}
	}
	if !hasNamed {
		return out
	}
	k := [2]int{i, j}
	if rs, done := e.named[k]; done {
		return append(out, rs...)
	}
	// Named ports: per destination pod of this node that the rule's peers
	// select (an IP block is no pod: named ports never match it).
	groups := map[string]*nodes.AllowRule{}
	var order []string
	for _, d := range e.peerPods(&e.pols[i], r, true) {
		var named []plan.PolicyPort
		for _, pp := range r.ports {
			if pp.Name != "" {
				named = append(named, pp)
			}
		}
		ports, ok := resolvePorts(named, d.ports)
		if !ok {
			continue
		}
		gk := rangesKey(ports)
		g := groups[gk]
		if g == nil {
			g = &nodes.AllowRule{Ports: ports, Peers: &nodes.PeerSet{ID: peersKey(e.pols[i].p.Namespace, r.peers, true) + "|" + gk}}
			groups[gk] = g
			order = append(order, gk)
		}
		g.Peers.Blocks = append(g.Peers.Blocks, nodes.Block{CIDR: d.ipText + "/32"})
	}
	slices.Sort(order)
	var rs []nodes.AllowRule
	for _, gk := range order {
		rs = append(rs, *groups[gk])
	}
	e.named[k] = rs
	return append(out, rs...)
}

// set is the peers of rule j of policy i: sources (every pod this node
// knows) for ingress, destinations (this node's pods) for egress, and IP
// blocks. nil means any peer; ok is false when the rule names peers and
// none exists (the rule allows nothing).
func (e *evaluator) set(i, j int, egress bool) (*nodes.PeerSet, bool) {
	rules := e.pols[i].in
	if egress {
		rules = e.pols[i].out
	}
	r := &rules[j]
	if len(r.peers) == 0 {
		return nil, true
	}
	k := setKey{i, j, egress}
	if s, done := e.sets[k]; done {
		return s, s != nil
	}
	// Many policies name the same peers (every namespace's "from
	// monitoring"): computed once, one value, rendered once.
	sk := peersKey(e.pols[i].p.Namespace, r.peers, egress)
	if s, done := e.byPeers[sk]; done {
		e.sets[k] = s
		return s, s != nil
	}
	s := &nodes.PeerSet{ID: sk}
	for _, pe := range r.peers {
		if pe.block != nil {
			s.Blocks = append(s.Blocks, *pe.block)
		}
	}
	// Egress: other nodes check what reaches their pods.
	for _, p := range e.peerPods(&e.pols[i], r, egress) {
		s.Blocks = append(s.Blocks, nodes.Block{CIDR: p.ipText + "/32"})
	}
	slices.SortFunc(s.Blocks, func(a, b nodes.Block) int {
		return cmp.Or(strings.Compare(a.CIDR, b.CIDR), slices.Compare(a.Except, b.Except))
	})
	s.Blocks = slices.CompactFunc(s.Blocks, func(a, b nodes.Block) bool { return a.CIDR == b.CIDR && slices.Equal(a.Except, b.Except) })
	if len(s.Blocks) == 0 {
		s = nil
	}
	e.sets[k], e.byPeers[sk] = s, s
	return s, s != nil
}

// peersKey identifies what a rule's peers select: their keys, sorted,
// with the policy's namespace where a peer has no namespaceSelector.
func peersKey(ns string, peers []cpeer, egress bool) string {
	keys := make([]string, 0, len(peers)+1)
	for _, pe := range peers {
		k := pe.key
		if pe.block == nil && !pe.none && pe.nss == nil {
			k += " " + ns
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if egress {
		keys = append(keys, "egress")
	}
	return strings.Join(keys, "\n")
}

// peerPods are the pods the pod peers of rule r of policy c select
// (this node's only when localOnly), in address order, each once.
func (e *evaluator) peerPods(c *cpolicy, r *crule, localOnly bool) []*fwPod {
	var out []*fwPod
	for _, pe := range r.peers {
		if pe.none || pe.block != nil {
			continue
		}
		nss := []string{c.p.Namespace}
		if pe.nss != nil {
			nss = nss[:0]
			for ns := range e.byNS {
				if pe.nss.Matches(e.namespaceLabels(ns)) {
					nss = append(nss, ns)
				}
			}
		}
		for _, ns := range nss {
			for _, p := range e.byNS[ns] {
				if (!localOnly || p.local) && (pe.pods == nil || pe.pods.Matches(p.labels)) {
					out = append(out, p)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b *fwPod) int { return a.ip.Compare(b.ip) })
	return slices.Compact(out)
}

func (e *evaluator) namespaceLabels(ns string) map[string]string {
	if l, ok := e.nsSel[ns]; ok {
		return l
	}
	l := plan.NamespaceLabels(e.d.Namespaces, ns)
	e.nsSel[ns] = l
	return l
}

// resolvePorts turns a rule's ports into ranges: numbers as written, a
// protocol without a port as all its ports, a named port as the number of
// the container port of that name and protocol in ports (none: no range).
// ok is false when the rule lists ports and none resolves: it allows
// nothing. No ports at all is every port (nil, true).
func resolvePorts(pps []plan.PolicyPort, ports []plan.ContainerPort) ([]nodes.PortRange, bool) {
	if len(pps) == 0 {
		return nil, true
	}
	var out []nodes.PortRange
	for _, pp := range pps {
		proto := cmp.Or(pp.Protocol, "TCP")
		switch {
		case pp.Name != "":
			for _, cp := range ports {
				if cp.Name == pp.Name && cmp.Or(cp.Protocol, "TCP") == proto && cp.ContainerPort > 0 {
					out = append(out, nodes.PortRange{Protocol: proto, From: uint16(cp.ContainerPort), To: uint16(cp.ContainerPort)})
					break
				}
			}
		case pp.Port == 0:
			out = append(out, nodes.PortRange{Protocol: proto})
		default:
			out = append(out, nodes.PortRange{Protocol: proto, From: uint16(pp.Port), To: uint16(max(pp.EndPort, pp.Port))})
		}
	}
	slices.SortFunc(out, func(a, b nodes.PortRange) int {
		return cmp.Or(strings.Compare(a.Protocol, b.Protocol), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	out = slices.Compact(out)
	return out, len(out) > 0
}
