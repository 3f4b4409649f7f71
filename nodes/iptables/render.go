// Package iptables routes Services on a node the way kube-proxy's iptables
// mode does: DNAT from cluster IPs, node ports and external IPs to weighted
// endpoints, masquerade where replies would otherwise bypass the node, and
// REJECT for services without endpoints.
//
// Rendering (render.go, dispatch.go) is pure: routes in, the text of every
// chain berth owns out, in exactly the form iptables-save prints it, so
// that drift detection is a string comparison. The Router (router.go)
// re-renders only changed services, diffs their chains and the dispatch
// chains against what it last wrote, and hands only the changed chains to
// one iptables-restore --noflush. See README.md for the rule shapes, node
// settings and measurements.
package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/nodes"
)

// Table names as iptables knows them.
const (
	TableNAT    = "nat"
	TableFilter = "filter"
)

// maxChainName is the longest chain name iptables accepts
// (XT_EXTENSION_MAXNAMELEN minus the terminating NUL).
const maxChainName = 28

// nodePortBucketBits groups node ports 64 at a time into sub-dispatch
// chains, so that one NodePort change rewrites a 64-port chain, not a chain
// holding every node port on the node.
const nodePortBucketBits = 6

// Config is everything rendering needs besides the routes.
type Config struct {
	// Prefix names every chain: <Prefix>-SERVICES, <Prefix>-SVC-<hash>...
	Prefix string
	// NodeIPs answer NodePorts; empty means every local address
	// (-m addrtype --dst-type LOCAL), as kube-proxy does.
	NodeIPs []netip.Addr
	// LocalhostNodePorts answers NodePorts on 127.0.0.0/8 too (needs
	// net.ipv4.conf.all.route_localnet=1, which the Router sets).
	LocalhostNodePorts bool
	// MasqMark is the packet mark bit that asks for masquerading.
	MasqMark uint32
	// PodCIDR, when valid, is accepted in FORWARD both ways.
	PodCIDR netip.Prefix
	// AllowMark is the packet mark bit a NetworkPolicy peer set uses to
	// say "allowed" (policy.go).
	AllowMark uint32
}

// Ruleset is the desired content of every chain berth owns: table → chain
// → the chain's rules, one "-A CHAIN ..." line each, newline-terminated.
// An empty string is an existing, empty chain.
type Ruleset map[string]map[string]string

// Chains counts the chains of a ruleset.
func (rs Ruleset) Chains() int {
	n := 0
	for _, t := range rs {
		n += len(t)
	}
	return n
}

// Rules counts the rules of a ruleset.
func (rs Ruleset) Rules() int {
	n := 0
	for _, t := range rs {
		for _, c := range t {
			n += strings.Count(c, "\n")
		}
	}
	return n
}

// names are the fixed chains of one prefix.
type names struct {
	prefix                                     string
	services, nodePorts, markMasq, postrouting string
	masqDNAT, external, forward, netpol        string
	hashLen                                    int
}

func newNames(prefix string) names {
	n := names{
		prefix:      prefix,
		services:    prefix + "-SERVICES",
		nodePorts:   prefix + "-NODEPORTS",
		markMasq:    prefix + "-MARK-MASQ",
		postrouting: prefix + "-POSTROUTING",
		masqDNAT:    prefix + "-MASQ-DNAT",
		external:    prefix + "-EXTERNAL",
		forward:     prefix + "-FORWARD",
		netpol:      prefix + "-NETPOL",
	}
	n.hashLen = min(16, maxChainName-len(prefix)-len("-SVC-"))
	return n
}

// hashed names a per-service or per-endpoint chain from its identity, as
// kube-proxy does, so the name is stable across restarts and nodes.
func (n names) hashed(kind, identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return n.prefix + "-" + kind + "-" + base32.StdEncoding.EncodeToString(sum[:])[:n.hashLen]
}

func (n names) serviceBucket(b [3]byte) string {
	return fmt.Sprintf("%s-SERVICES-%02X%02X%02X", n.prefix, b[0], b[1], b[2])
}

func (n names) serviceLeaf(b [4]byte) string {
	return fmt.Sprintf("%s-SERVICES-%02X%02X%02X%02X", n.prefix, b[0], b[1], b[2], b[3])
}

func (n names) masqBucket(b [3]byte) string {
	return fmt.Sprintf("%s-MASQ-%02X%02X%02X", n.prefix, b[0], b[1], b[2])
}

func (n names) masqLeaf(b [4]byte) string {
	return fmt.Sprintf("%s-MASQ-%02X%02X%02X%02X", n.prefix, b[0], b[1], b[2], b[3])
}

func (n names) nodePortBucket(b int) string {
	return n.prefix + "-NODEPORTS-" + strconv.Itoa(b)
}

// ValidPrefix reports whether p can prefix chain names: upper-case letters
// and digits only (no "-", so one prefix is never the start of another's
// chains), starting with a letter, at most 10 characters.
func ValidPrefix(p string) bool {
	if p == "" || len(p) > 10 || p[0] < 'A' || p[0] > 'Z' {
		return false
	}
	for _, c := range p {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// fragment is the rendering of one service: the chains it owns alone
// (SVC) and its lines in the shared dispatch chains. The Router keeps
// fragments between syncs and re-renders only services whose route
// changed.
type fragment struct {
	key   string
	route nodes.ServiceRoute // deep copy, to detect changes
	// chains are nat chains owned by this service alone (its SVC chains).
	chains []chain
	// masqLines go to the nat MASQ-<dst /27> leaves, deduplicated
	// across services (see masqLine).
	masqLines []bucketLine
	// svcLines go to the nat SERVICES-<dst /27> dispatch leaves: jumps to
	// SVC chains, or a cluster-IP-only service's whole choice.
	svcLines []bucketLine
	// npLines go to the nat NODEPORTS-<port/64> dispatch chains.
	npLines []nodePortLine
	// svcRej and extRej are REJECT rules for the filter SERVICES and
	// EXTERNAL chains.
	svcRej, extRej string
	warns          []string
	rules          int // number of rules in chains
	// udp lists the UDP ports, whose conntrack entries outlive rule
	// changes (see conntrack.go).
	udp []udpPort
}

// udpPort is where a UDP service port answers and where it sends.
type udpPort struct {
	dests    []netip.Addr // cluster IP and external IPs
	port     uint16
	nodePort uint16
	backends []netip.Addr
}

type chain struct{ name, rules string }

// serviceID identifies a service without building "namespace/name".
type serviceID struct{ namespace, name string }

func (f *fragment) id() serviceID { return serviceID{f.route.Namespace, f.route.Name} }

// chainsOrNil and udpOrNil let callers treat a missing fragment (a
// service added or removed) as an empty one.
func (f *fragment) chainsOrNil() []chain {
	if f == nil {
		return nil
	}
	return f.chains
}

func (f *fragment) udpOrNil() []udpPort {
	if f == nil {
		return nil
	}
	return f.udp
}

type bucketLine struct {
	bucket [4]byte
	rules  string
}

type nodePortLine struct {
	bucket int
	proto  string
	rules  string
}

// renderer renders fragments for one configuration.
type renderer struct {
	cfg Config
	n   names
	// memo keeps the last dispatch chains (see memoEntry); a renderer
	// is used by one goroutine at a time.
	memo map[string]memoEntry
	// unions keeps the last MASQ-DNAT bucket chains (see unionEntry).
	unions map[string]*unionEntry
	// svcLevels and masqLevels keep the dispatch chains above the leaves
	// (see twoLevel).
	svcLevels, masqLevels levels
	// nodeIPs are the explicit node addresses, plus 127.0.0.1 when
	// localhost node ports are on (nil: every local address).
	nodeIPs []netip.Addr
}

func newRenderer(cfg Config) *renderer {
	if cfg.MasqMark == 0 {
		cfg.MasqMark = 0x4000
	}
	if cfg.AllowMark == 0 {
		cfg.AllowMark = 0x40000
	}
	r := &renderer{cfg: cfg, n: newNames(cfg.Prefix)}
	if len(cfg.NodeIPs) > 0 {
		ips := slices.Clone(cfg.NodeIPs)
		lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
		if cfg.LocalhostNodePorts && !slices.Contains(ips, lo) {
			ips = append(ips, lo)
		}
		slices.SortFunc(ips, netip.Addr.Compare)
		r.nodeIPs = slices.Compact(ips)
	}
	return r
}

// line joins parts into one rule line; cheaper than fmt for the hot path.
func line(w *strings.Builder, parts ...string) {
	for _, p := range parts {
		w.WriteString(p)
	}
	w.WriteByte('\n')
}

// fragment renders one service.
func (rr *renderer) fragment(r *nodes.ServiceRoute) *fragment {
	f := &fragment{key: r.Key(), route: cloneRoute(r)}
	warnf := func(format string, args ...any) {
		f.warns = append(f.warns, fmt.Sprintf("service %s: ", f.key)+fmt.Sprintf(format, args...))
	}
	ipv4 := func(what, s string) (netip.Addr, bool) {
		if s == "" || s == "None" { // headless
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			warnf("%s %q is not an IPv4 address; skipped", what, s)
			return netip.Addr{}, false
		}
		return a, true
	}
	clusterIP, hasCluster := ipv4("clusterIP", r.ClusterIP)
	var externals []netip.Addr
	for _, e := range r.ExternalIPs {
		if a, ok := ipv4("externalIP", e); ok {
			externals = append(externals, a)
		}
	}
	n := rr.n
	var w strings.Builder
	for i := range r.Ports {
		p := &r.Ports[i]
		proto, ok := protocol(p.Protocol)
		if !ok {
			warnf("protocol %q is not supported (TCP, UDP); port %d skipped", p.Protocol, p.Port)
			continue
		}
		if p.Port < 1 || p.Port > 65535 {
			warnf("port %d out of range; skipped", p.Port)
			continue
		}
		nodePort := p.NodePort
		if nodePort < 0 || nodePort > 65535 {
			warnf("nodePort %d out of range; ignored", nodePort)
			nodePort = 0
		}
		if !hasCluster && len(externals) == 0 && nodePort == 0 {
			continue // headless: nothing to answer on
		}
		portName := p.Name
		if portName == "" {
			portName = strconv.Itoa(int(p.Port))
		}
		svcName := f.key + ":" + portName
		port := strconv.Itoa(int(p.Port))
		var bes []backend
		for _, be := range p.Backends {
			a, ok := ipv4("backend", be.IP)
			if !ok {
				continue
			}
			if be.Port < 1 || be.Port > 65535 {
				warnf("backend %s port %d out of range; skipped", be.IP, be.Port)
				continue
			}
			bes = append(bes, backend{addr: a, port: be.Port, weight: uint64(be.Weight), remote: be.Remote})
		}
		bes = normalizeBackends(bes)
		if proto == "udp" {
			u := udpPort{port: uint16(p.Port), nodePort: uint16(nodePort)}
			if hasCluster {
				u.dests = append(u.dests, clusterIP)
			}
			u.dests = append(u.dests, externals...)
			for _, be := range bes {
				u.backends = append(u.backends, be.addr)
			}
			f.udp = append(f.udp, u)
		}
		if len(bes) == 0 {
			rr.reject(f, svcName, proto, port, nodePort, clusterIP, hasCluster, externals)
			continue
		}
		choice := rr.endpoints(f, svcName, proto, port, r.AffinitySeconds, bes)
		if hasCluster && len(externals) == 0 && nodePort == 0 {
			// Only a cluster IP (most services): the choice goes straight
			// into the dispatch leaf, no chain of its own.
			leaf := leafKey(clusterIP)
			head := "-A " + n.serviceLeaf(leaf) + " -d " + clusterIP.String() + "/32 -p " + proto + " -m " + proto + " --dport " + port
			w.Reset()
			for _, c := range choice {
				w.WriteString(head)
				w.WriteString(c)
			}
			f.svcLines = append(f.svcLines, bucketLine{leaf, w.String()})
			continue
		}
		svc := n.hashed("SVC", svcName+"/"+proto+"/"+port)
		w.Reset()
		for _, c := range choice {
			w.WriteString("-A " + svc + " -p " + proto)
			w.WriteString(c)
		}
		f.chains = append(f.chains, chain{svc, w.String()})
		f.rules += len(choice)
		if hasCluster {
			w.Reset()
			line(&w, "-A ", n.serviceLeaf(leafKey(clusterIP)), " -d ", clusterIP.String(), "/32 -p ", proto,
				" -m ", proto, " --dport ", port, " -j ", svc)
			f.svcLines = append(f.svcLines, bucketLine{leafKey(clusterIP), w.String()})
		}
		// Traffic to external IPs and node ports may come from outside the
		// node: masquerade it so replies come back through this node.
		for _, e := range externals {
			ch := n.serviceLeaf(leafKey(e))
			w.Reset()
			line(&w, "-A ", ch, " -d ", e.String(), "/32 -p ", proto, " -m ", proto, " --dport ", port, " -j ", n.markMasq)
			line(&w, "-A ", ch, " -d ", e.String(), "/32 -p ", proto, " -m ", proto, " --dport ", port, " -j ", svc)
			f.svcLines = append(f.svcLines, bucketLine{leafKey(e), w.String()})
		}
		if nodePort > 0 {
			bk := int(nodePort) >> nodePortBucketBits
			ch := n.nodePortBucket(bk)
			np := strconv.Itoa(int(nodePort))
			w.Reset()
			line(&w, "-A ", ch, " -p ", proto, " -m ", proto, " --dport ", np, " -j ", n.markMasq)
			line(&w, "-A ", ch, " -p ", proto, " -m ", proto, " --dport ", np, " -j ", svc)
			f.npLines = append(f.npLines, nodePortLine{bk, proto, w.String()})
		}
	}
	return f
}

type backend struct {
	addr   netip.Addr
	port   int32
	weight uint64
	remote bool
}

// normalizeBackends sorts and deduplicates backends, so the rules do not
// depend on the caller's order, and applies the weight rules.
func normalizeBackends(out []backend) []backend {
	slices.SortFunc(out, func(x, y backend) int {
		if c := x.addr.Compare(y.addr); c != 0 {
			return c
		}
		return int(x.port) - int(y.port)
	})
	out = slices.CompactFunc(out, func(x, y backend) bool { return x.addr == y.addr && x.port == y.port })
	// Weight 0 means "no new connections" (a canary at setWeight: 0);
	// when every weight is 0 the reconciler gave no weights at all, and
	// every backend weighs the same.
	kept := make([]backend, 0, len(out))
	for _, be := range out {
		if be.weight > 0 {
			kept = append(kept, be)
		}
	}
	if len(kept) == 0 {
		for i := range out {
			out[i].weight = 1
		}
		return out
	}
	return kept
}

func protocol(p string) (string, bool) {
	switch strings.ToUpper(p) {
	case "", "TCP":
		return "tcp", true
	case "UDP":
		return "udp", true
	}
	return "", false
}

func rejectWith(proto string) string {
	if proto == "tcp" {
		return "tcp-reset"
	}
	return "icmp-port-unreachable"
}

// leafKey is the /27 an IPv4 address belongs to: the services dispatch
// goes /24, then /27, so a change to one service rewrites a leaf of at
// most 32 addresses' rules.
func leafKey(a netip.Addr) [4]byte {
	b := a.As4()
	return [4]byte{b[0], b[1], b[2], b[3] &^ 31}
}

// prefix3 is the /24 an IPv4 address belongs to, the sub-dispatch key.
func prefix3(a netip.Addr) [3]byte {
	b := a.As4()
	return [3]byte{b[0], b[1], b[2]}
}

// endpoints renders the choice of a backend: one rule tail (matches and
// target, after the rule's head) per backend, a weighted random choice
// that DNATs straight to it; with affinity, a recent-list check per
// backend first (--update: a client's every new connection renews its
// affinity, as kube-proxy's --set in the endpoint chain does). There are no per-endpoint chains: nf_tables re-validates
// every rule reachable from a hook on each commit, so each rule berth does
// not write makes every sync faster. Masquerading for a pod reaching
// itself and for backends on other nodes is decided after DNAT, in the
// MASQ-DNAT chains (see masqLine).
func (rr *renderer) endpoints(f *fragment, svcName, proto, port string, affinity int32, bes []backend) []string {
	dests := make([]string, len(bes))
	for i, be := range bes {
		dests[i] = be.addr.String() + ":" + strconv.Itoa(int(be.port))
		f.masqLines = append(f.masqLines, rr.masqLine(be))
	}
	// recent names the backend's affinity list (kube-proxy names it after
	// the endpoint chain; the same hash, without the chain).
	recent := func(i int) string { return rr.n.hashed("SEP", svcName+"/"+proto+"/"+port+"/"+dests[i]) }
	var out []string
	secs := strconv.Itoa(int(affinity))
	if affinity > 0 {
		for i := range bes {
			out = append(out, " -m recent --update --seconds "+secs+" --reap --name "+recent(i)+
				" --mask 255.255.255.255 --rsource -j DNAT --to-destination "+dests[i]+"\n")
		}
	}
	var remaining uint64
	for _, be := range bes {
		remaining += be.weight
	}
	var w strings.Builder
	for i, be := range bes {
		w.Reset()
		if i < len(bes)-1 {
			w.WriteString(" -m statistic --mode random --probability " + Probability(float64(be.weight)/float64(remaining)))
			remaining -= be.weight
		}
		if affinity > 0 {
			w.WriteString(" -m recent --set --name " + recent(i) + " --mask 255.255.255.255 --rsource")
		}
		line(&w, " -j DNAT --to-destination ", dests[i])
		out = append(out, w.String())
	}
	return out
}

// masqLine is the rule that masquerades DNATed connections to be: a pod
// reaching itself through a service (hairpin: source and destination are
// the pod), or a connection to a backend on another node from anything
// but this node's pods (its replies must come back through this node to
// be un-DNATed; a pod's come back by the other node's route to this
// node's pod CIDR). These rules are per
// pod and per node, not per service, and they are bucketed by destination
// /24 and /27 like the service dispatch.
func (rr *renderer) masqLine(be backend) bucketLine {
	ip := be.addr.String()
	k := leafKey(be.addr)
	ch := rr.n.masqLeaf(k)
	if be.remote {
		if p := rr.cfg.PodCIDR; p.IsValid() {
			// A pod's connection keeps its address: the other node
			// routes the reply to this node's pod CIDR, and its
			// NetworkPolicies see which pod is calling.
			return bucketLine{k, "-A " + ch + " ! -s " + p.String() + " -d " + ip + "/32 -j " + rr.n.markMasq + "\n"}
		}
		return bucketLine{k, "-A " + ch + " -d " + ip + "/32 -j " + rr.n.markMasq + "\n"}
	}
	return bucketLine{k, "-A " + ch + " -s " + ip + "/32 -d " + ip + "/32 -j " + rr.n.markMasq + "\n"}
}

// reject answers a port without endpoints at once (connection refused),
// instead of letting clients time out.
func (rr *renderer) reject(f *fragment, svcName, proto, port string, nodePort int32, clusterIP netip.Addr, hasCluster bool, externals []netip.Addr) {
	n := rr.n
	with := rejectWith(proto)
	comment := " -m comment --comment \"" + svcName + " has no endpoints\" -m " + proto
	var w strings.Builder
	if hasCluster {
		line(&w, "-A ", n.services, " -d ", clusterIP.String(), "/32 -p ", proto, comment,
			" --dport ", port, " -j REJECT --reject-with ", with)
		f.svcRej += w.String()
	}
	w.Reset()
	for _, e := range externals {
		line(&w, "-A ", n.external, " -d ", e.String(), "/32 -p ", proto, comment,
			" --dport ", port, " -j REJECT --reject-with ", with)
	}
	if nodePort > 0 {
		np := strconv.Itoa(int(nodePort))
		if rr.nodeIPs == nil {
			line(&w, "-A ", n.external, " -p ", proto, " -m comment --comment \"", svcName,
				" has no endpoints\" -m addrtype --dst-type LOCAL -m ", proto, " --dport ", np, " -j REJECT --reject-with ", with)
		}
		for _, ip := range rr.nodeIPs {
			line(&w, "-A ", n.external, " -d ", ip.String(), "/32 -p ", proto, comment,
				" --dport ", np, " -j REJECT --reject-with ", with)
		}
	}
	f.extRej += w.String()
}

// cloneRoute deep-copies r, so later changes to the caller's slices do not
// change what the Router remembers.
func cloneRoute(r *nodes.ServiceRoute) nodes.ServiceRoute {
	c := *r
	c.ExternalIPs = slices.Clone(r.ExternalIPs)
	c.Ports = slices.Clone(r.Ports)
	for i := range c.Ports {
		c.Ports[i].Backends = slices.Clone(c.Ports[i].Backends)
	}
	return c
}

// sameRoute reports whether a and b render the same rules.
func sameRoute(a, b *nodes.ServiceRoute) bool {
	if a.Namespace != b.Namespace || a.Name != b.Name || a.ClusterIP != b.ClusterIP ||
		a.AffinitySeconds != b.AffinitySeconds || !slices.Equal(a.ExternalIPs, b.ExternalIPs) ||
		len(a.Ports) != len(b.Ports) {
		return false
	}
	for i := range a.Ports {
		p, q := &a.Ports[i], &b.Ports[i]
		if p.Name != q.Name || p.Protocol != q.Protocol || p.Port != q.Port || p.NodePort != q.NodePort ||
			!slices.Equal(p.Backends, q.Backends) {
			return false
		}
	}
	return true
}

// Probability prints p the way iptables-save prints it back: the kernel
// keeps it as a 31-bit fixed-point fraction, shown with 11 decimals. A rule
// rendered this way compares equal to the live rule.
func Probability(p float64) string {
	q := math.Round(p * 0x80000000)
	return strconv.FormatFloat(q/0x80000000, 'f', 11, 64)
}
