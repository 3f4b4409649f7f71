package nodes

// Firewall is what a node enforces of the plan's NetworkPolicies: the
// reconciler resolves selectors against the pods this node runs and the
// ones the other nodes told it of, so the router only renders rules.
// The zero value enforces nothing: every pod is open.
//
// A connection is checked on the node of its destination pod for both
// ends (the destination's ingress, the source's egress), and on the node
// of its source for the source's egress when the destination is not a
// pod of another node (see nodes/iptables/README.md, "NetworkPolicy").
type Firewall struct {
	// Pods are this node's pods that a policy isolates, by IP.
	Pods []GuardedPod `json:"pods,omitempty"`
	// Nodes are the other nodes: connections from their pod CIDR to
	// this node's pods are checked against the egress of their pods,
	// and this node's pods' egress to them is left to them.
	Nodes []PeerNode `json:"nodes,omitempty"`
	// DropUnknown drops a new connection from another node's pod CIDR
	// whose source is no pod Nodes lists: it could be a pod whose egress
	// a policy isolates, that this node has not learned of yet.
	DropUnknown bool `json:"dropUnknown,omitempty"`
	// TransitFrom and TransitTo are the ports other nodes answer their
	// Services on (reconciler.TransitPortMin and Max): this node's pods'
	// egress to them is checked by the node that picks the pod.
	TransitFrom uint16 `json:"transitFrom,omitempty"`
	TransitTo   uint16 `json:"transitTo,omitempty"`
}

// Empty reports whether the firewall isolates nothing.
func (f *Firewall) Empty() bool { return len(f.Pods) == 0 && !f.DropUnknown && !f.remoteIsolated() }

func (f *Firewall) remoteIsolated() bool {
	for _, n := range f.Nodes {
		for _, p := range n.Pods {
			if p.Egress != nil {
				return true
			}
		}
	}
	return false
}

// GuardedPod is a pod of this node under a policy: Ingress and Egress
// are what it may receive and send; nil means open in that direction.
type GuardedPod struct {
	Pod     string   `json:"pod"` // namespace/name
	IP      string   `json:"ip"`
	Ingress *Allowed `json:"ingress,omitempty"`
	Egress  *Allowed `json:"egress,omitempty"`
}

// PeerNode is another node of the inventory as this node knows it.
type PeerNode struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	PodCIDR string `json:"podCIDR"`
	// Pods are its pods this node learned of, by IP.
	Pods []RemotePod `json:"pods,omitempty"`
}

// RemotePod is a pod of another node: Egress is what it may send to
// this node's pods (nil: open).
type RemotePod struct {
	Pod    string   `json:"pod"`
	IP     string   `json:"ip"`
	Egress *Allowed `json:"egress,omitempty"`
}

// Allowed is the union of the rules of every policy that isolates a pod
// in one direction: a connection passes when one rule allows it; none
// (an empty list) allows nothing. Pods under the same policies share one
// Allowed value.
type Allowed struct {
	// ID names the profile (the policies and the pod's named ports it
	// comes from): the router names its chain by it, so that a policy
	// change rewrites the chain in place and nothing that jumps to it.
	// Empty: named by content.
	ID    string      `json:"id,omitempty"`
	Rules []AllowRule `json:"rules,omitempty"`
}

// AllowRule allows connections with a peer of Peers (nil: any peer) to
// one of Ports (none: any port of any protocol). For ingress the peer is
// the source, for egress the destination.
type AllowRule struct {
	Ports []PortRange `json:"ports,omitempty"`
	Peers *PeerSet    `json:"peers,omitempty"`
}

// PortRange is a protocol's ports From to To; From 0 is every port.
type PortRange struct {
	Protocol string `json:"protocol"` // TCP or UDP
	From     uint16 `json:"from,omitempty"`
	To       uint16 `json:"to,omitempty"`
}

// PeerSet is addresses: pods as /32 blocks, and IP blocks with their
// exceptions. Rules with the same peers share one PeerSet value.
type PeerSet struct {
	// ID names the set (what its peers select) as Allowed.ID does.
	ID     string  `json:"id,omitempty"`
	Blocks []Block `json:"blocks"`
}

// Block is an IPv4 CIDR without the CIDRs of Except.
type Block struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}
