package iptables

import (
	"cmp"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"berth.dev/berth/nodes"
)

// NetworkPolicy chains, all in the filter table (README.md,
// "NetworkPolicy"). <Prefix>-NETPOL is jumped from <Prefix>-FORWARD and
// INPUT for new connections; it dispatches by address to:
//
//   - NPE-<hash> and NPI-<hash>: what a pod may send (egress) and
//     receive (ingress), one chain per distinct profile, named by its
//     content: RETURN when a rule allows, DROP at the end;
//   - NPS-<hash>: a set of peers, which sets the allow mark for a member
//     (shared by every profile that names the same peers);
//   - NPB-<hash>: an IP block with exceptions;
//   - NPX-<hash>: another node's pods, for connections from them: each
//     known pod's egress, and DROP for an unknown source when a policy
//     isolates egress.
//
// Profile and set chains are named by what they stand for (Allowed.ID,
// PeerSet.ID: the policies, the peers' selectors), so a policy change
// rewrites those chains in place and not the dispatch chain that jumps to
// them; without an ID, by their content.

// inlinePeers is the most peers a rule matches in its profile chain;
// more go to a set chain, one rule per member wherever it is used.
const inlinePeers = 4

// policyRenderer renders one Firewall.
type policyRenderer struct {
	n      names
	mark   string // the allow mark, "0x40000"
	filter map[string]string
	// profiles and sets already rendered, by identity and direction.
	profiles map[profileKey]string
	sets     map[setRef]string
	warns    []string
}

type profileKey struct {
	a      *nodes.Allowed
	egress bool
}

type setRef struct {
	s      *nodes.PeerSet
	egress bool
}

// policy renders fw into shared's filter table (the NETPOL chain is
// always there, empty when nothing is isolated, since INPUT jumps to it)
// and keeps this node's pods' addresses on their way to the others.
func (rr *renderer) policy(fw *nodes.Firewall, shared Ruleset) []string {
	filter := shared[TableFilter]
	pr := &policyRenderer{n: rr.n, mark: fmt.Sprintf("0x%x", rr.cfg.AllowMark), filter: filter,
		profiles: map[profileKey]string{}, sets: map[setRef]string{}}
	var w strings.Builder
	top := rr.n.netpol
	if fw != nil {
		pr.dispatch(&w, top, fw)
		if nat := shared[TableNAT]; nat != nil {
			nat[rr.n.postrouting] = rr.keepPodSource(fw) + nat[rr.n.postrouting]
		}
	}
	filter[top] = w.String()
	return pr.warns
}

// keepPodSource are the rules that spare a connection from this node's
// pods to another node's pods or transit ports the CNI bridge's
// masquerade (ipMasq masquerades whatever leaves the pod CIDR): the other
// node judges the connection by its source, which must stay the pod's
// address, as Kubernetes' pod-to-pod traffic is never NATed. ACCEPT ends
// the nat POSTROUTING chain before the CNI chains that follow berth's.
func (rr *renderer) keepPodSource(fw *nodes.Firewall) string {
	own := rr.cfg.PodCIDR
	if !own.IsValid() || len(fw.Nodes) == 0 {
		return ""
	}
	var w strings.Builder
	head := "-A " + rr.n.postrouting + " -s " + own.String()
	for _, n := range fw.Nodes {
		if m, ok := addr("-d", n.PodCIDR); ok && m != "" {
			line(&w, head, m, " -j ACCEPT")
		}
		if m, ok := addr("-d", n.Address); ok && m != "" && fw.TransitFrom > 0 {
			ports := transitPorts(fw.TransitFrom, fw.TransitTo)
			line(&w, head, m, " -p tcp -m tcp --dport ", ports, " -j ACCEPT")
			line(&w, head, m, " -p udp -m udp --dport ", ports, " -j ACCEPT")
		}
	}
	return w.String()
}

func (pr *policyRenderer) warnf(format string, args ...any) {
	pr.warns = append(pr.warns, fmt.Sprintf("network policy: "+format, args...))
}

// addr returns the match of a CIDR or address for flag (-s, -d), or ok
// false when it is not IPv4. 0.0.0.0/0 matches without a flag, as
// iptables-save prints it.
func addr(flag, cidr string) (string, bool) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		a, err := netip.ParseAddr(cidr)
		if err != nil || !a.Is4() {
			return "", false
		}
		return " " + flag + " " + cidr + "/32", true // netip parses canonical text only
	}
	if !p.Addr().Is4() {
		return "", false
	}
	switch {
	case p.Bits() == 0:
		return "", true
	case p == p.Masked() && strings.Contains(cidr, "/"):
		return " " + flag + " " + cidr, true // netip parses canonical text only
	}
	return " " + flag + " " + p.Masked().String(), true
}

func (pr *policyRenderer) dispatch(w *strings.Builder, top string, fw *nodes.Firewall) {
	localEgress := false
	for _, p := range fw.Pods {
		if p.Egress != nil {
			localEgress = true
		}
	}
	if localEgress {
		// Other nodes check what this node's pods send to their pods
		// and through their transit ports: they know which pod answers.
		for _, n := range fw.Nodes {
			if m, ok := addr("-d", n.PodCIDR); ok && m != "" {
				line(w, "-A ", top, m, " -j RETURN")
			}
			if m, ok := addr("-d", n.Address); ok && m != "" && fw.TransitFrom > 0 {
				ports := transitPorts(fw.TransitFrom, fw.TransitTo)
				line(w, "-A ", top, m, " -p tcp -m tcp --dport ", ports, " -j RETURN")
				line(w, "-A ", top, m, " -p udp -m udp --dport ", ports, " -j RETURN")
			}
		}
	}
	for _, p := range fw.Pods {
		if p.Egress == nil {
			continue
		}
		if m, ok := addr("-s", p.IP); ok && m != "" {
			line(w, "-A ", top, m, " -j ", pr.profile(p.Egress, true))
		} else {
			pr.warnf("pod %s: address %q is not IPv4; skipped", p.Pod, p.IP)
		}
	}
	for _, n := range fw.Nodes {
		if ch := pr.peerNode(fw, &n); ch != "" {
			if m, ok := addr("-s", n.PodCIDR); ok && m != "" {
				line(w, "-A ", top, m, " -j ", ch)
			}
		}
	}
	for _, p := range fw.Pods {
		if p.Ingress == nil {
			continue
		}
		if m, ok := addr("-d", p.IP); ok && m != "" {
			line(w, "-A ", top, m, " -j ", pr.profile(p.Ingress, false))
		}
	}
}

func transitPorts(from, to uint16) string {
	if to <= from {
		return strconv.Itoa(int(from))
	}
	return strconv.Itoa(int(from)) + ":" + strconv.Itoa(int(to))
}

// peerNode renders the chain that checks connections from node n's pods
// against their egress, or returns "" when there is nothing to check.
func (pr *policyRenderer) peerNode(fw *nodes.Firewall, n *nodes.PeerNode) string {
	name := pr.n.hashed("NPX", n.Name)
	head := "-A " + name
	var w strings.Builder
	w.Grow(len(n.Pods) * (len(head) + 60))
	isolated := false
	for _, p := range n.Pods {
		m, ok := addr("-s", p.IP)
		if !ok || m == "" {
			continue
		}
		switch {
		case p.Egress != nil:
			isolated = true
			// goto: the profile's RETURN goes back to NETPOL, on to the
			// destination's ingress.
			line(&w, head, m, " -g ", pr.profile(p.Egress, true))
		case fw.DropUnknown:
			line(&w, head, m, " -j RETURN")
		}
	}
	if !isolated && !fw.DropUnknown {
		return ""
	}
	if fw.DropUnknown {
		line(&w, head, " -j DROP")
	}
	pr.filter[name] = w.String()
	return name
}

// profile renders what one pod may send (egress: peers are destinations)
// or receive (ingress: sources) and returns its chain: RETURN for a
// connection a rule allows, DROP for the rest.
func (pr *policyRenderer) profile(a *nodes.Allowed, egress bool) string {
	k := profileKey{a, egress}
	if name, ok := pr.profiles[k]; ok {
		return name
	}
	flag := "-s"
	if egress {
		flag = "-d"
	}
	var direct, jumps strings.Builder
	for _, r := range a.Rules {
		ports := portMatches(r.Ports)
		if len(ports) == 0 {
			continue // only protocols berth does not know: allows nothing
		}
		switch {
		case r.Peers == nil:
			for _, p := range ports {
				line(&direct, "-A @", p, " -j RETURN")
			}
		case inline(r.Peers):
			for _, b := range r.Peers.Blocks {
				m, ok := addr(flag, b.CIDR)
				if !ok {
					continue
				}
				for _, p := range ports {
					line(&direct, "-A @", m, p, " -j RETURN")
				}
			}
		default:
			set := pr.set(r.Peers, egress)
			for _, p := range ports {
				line(&jumps, "-A @", p, " -j ", set)
			}
		}
	}
	body := direct.String()
	if jumps.Len() > 0 {
		// A set marks a member; the mark is cleared first, since a
		// packet's mark outlives the chain (the egress check runs before
		// the ingress one on the same packet).
		body += "-A @ -j MARK --set-xmark 0x0/" + pr.mark + "\n" + jumps.String() +
			"-A @ -m mark --mark " + pr.mark + "/" + pr.mark + " -j RETURN\n"
	}
	body += "-A @ -j DROP\n"
	kind := "NPI"
	if egress {
		kind = "NPE"
	}
	name := pr.n.hashed(kind, cmp.Or(a.ID, body))
	pr.filter[name] = strings.ReplaceAll(body, "-A @", "-A "+name)
	pr.profiles[k] = name
	return name
}

// inline reports whether a rule's peers are few and plain enough to be
// matched in the profile itself.
func inline(s *nodes.PeerSet) bool {
	if len(s.Blocks) > inlinePeers {
		return false
	}
	for _, b := range s.Blocks {
		if len(b.Except) > 0 {
			return false
		}
	}
	return true
}

// set renders a peer set's chain: it sets the allow mark for a member.
func (pr *policyRenderer) set(s *nodes.PeerSet, egress bool) string {
	k := setRef{s, egress}
	if name, ok := pr.sets[k]; ok {
		return name
	}
	flag := "-s"
	if egress {
		flag = "-d"
	}
	setMark := " -j MARK --set-xmark " + pr.mark + "/" + pr.mark
	head := "-A @"
	if s.ID != "" {
		head = "-A " + pr.n.hashed("NPS", flag+"\n"+s.ID)
	}
	var w strings.Builder
	w.Grow(len(s.Blocks) * (len(head) + 64))
	for _, b := range s.Blocks {
		m, ok := addr(flag, b.CIDR)
		if !ok {
			continue
		}
		if len(b.Except) == 0 {
			line(&w, head, m, setMark)
			continue
		}
		line(&w, head, m, " -j ", pr.block(b, flag, setMark))
	}
	var name string
	if s.ID != "" {
		name = head[len("-A "):]
		pr.filter[name] = w.String()
	} else {
		name = pr.n.hashed("NPS", flag+"\n"+w.String())
		pr.filter[name] = strings.ReplaceAll(w.String(), "-A @", "-A "+name)
	}
	pr.sets[k] = name
	return name
}

// block renders an IP block with exceptions (jumped to for the block's
// addresses): an exception returns unmarked.
func (pr *policyRenderer) block(b nodes.Block, flag, setMark string) string {
	var w strings.Builder
	for _, x := range b.Except {
		if m, ok := addr(flag, x); ok && m != "" {
			line(&w, "-A @", m, " -j RETURN")
		}
	}
	line(&w, "-A @", setMark)
	name := pr.n.hashed("NPB", flag+"\n"+w.String())
	pr.filter[name] = strings.ReplaceAll(w.String(), "-A @", "-A "+name)
	return name
}

// portMatches are the protocol and port matches of ranges, one per
// range; no ranges is one empty match (every port of every protocol).
func portMatches(rs []nodes.PortRange) []string {
	if len(rs) == 0 {
		return []string{""}
	}
	var out []string
	for _, r := range rs {
		proto, ok := protocol(r.Protocol)
		if !ok {
			continue
		}
		switch {
		case r.From == 0:
			out = append(out, " -p "+proto)
		case r.To <= r.From:
			out = append(out, " -p "+proto+" -m "+proto+" --dport "+strconv.Itoa(int(r.From)))
		default:
			out = append(out, " -p "+proto+" -m "+proto+" --dport "+strconv.Itoa(int(r.From))+":"+strconv.Itoa(int(r.To)))
		}
	}
	return out
}

// bridgeNFCall is the sysctl that makes traffic between two pods on one
// bridge pass iptables (br_netfilter).
const bridgeNFCall = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// bridgeFiltered reports an error when pods on the bridge would reach
// each other without passing iptables, so without their NetworkPolicies:
// the rules are written anyway (they hold for every other path), and the
// error says what the node needs.
func bridgeFiltered() error {
	b, err := os.ReadFile(bridgeNFCall)
	if err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	return fmt.Errorf("network policies are not enforced between pods of this node: %s is not 1 (load the module: modprobe br_netfilter)", bridgeNFCall)
}
