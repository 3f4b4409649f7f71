package plan

// NetworkPolicy is a NetworkPolicy as every node enforces it: the
// object's selectors and rules with the API server's defaults applied
// (policyTypes, protocol). Selectors stay selectors: which pods they
// match depends on the pods each node runs and learns of, and on the
// labels of Namespaces (Plan.Namespaces). Sorted by namespace, then name.
type NetworkPolicy struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// PodSelector picks the pods of Namespace the policy isolates (empty:
	// all of them).
	PodSelector LabelSelector `json:"podSelector"`
	// Ingress and Egress say which types the policy isolates its pods in
	// (policyTypes, defaulted as the API server does); their rules allow.
	Ingress      bool         `json:"ingress,omitempty"`
	Egress       bool         `json:"egress,omitempty"`
	IngressRules []PolicyRule `json:"ingressRules,omitempty"`
	EgressRules  []PolicyRule `json:"egressRules,omitempty"`
}

// Key is namespace/name.
func (p *NetworkPolicy) Key() string { return p.Namespace + "/" + p.Name }

// PolicyRule allows traffic with any of its peers on any of its ports.
// No peers means every peer; no ports, every port.
type PolicyRule struct {
	Ports []PolicyPort `json:"ports,omitempty"`
	Peers []PolicyPeer `json:"peers,omitempty"`
}

// PolicyPort is a protocol and a port: Port alone, Port to EndPort, the
// container port called Name of the pod the traffic goes to, or every
// port of the protocol (none set).
type PolicyPort struct {
	Protocol string `json:"protocol"` // TCP or UDP
	Port     int32  `json:"port,omitempty"`
	EndPort  int32  `json:"endPort,omitempty"`
	Name     string `json:"name,omitempty"`
}

// PolicyPeer is pods or an IP block, as in the NetworkPolicy: a
// PodSelector alone selects pods of the policy's namespace, a
// NamespaceSelector alone every pod of the namespaces it selects, both
// the pods PodSelector selects in those namespaces.
type PolicyPeer struct {
	PodSelector       *LabelSelector `json:"podSelector,omitempty"`
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`
	IPBlock           *IPBlock       `json:"ipBlock,omitempty"`
}

// IPBlock is CIDR without the CIDRs of Except.
type IPBlock struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}

// Namespace is a Namespace of the repository with its labels, which
// NetworkPolicies' namespaceSelectors read. Every namespace, declared or
// not, also carries kubernetes.io/metadata.name=<name>
// (NamespaceLabels). Sorted by name.
type Namespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// LabelNamespaceName is the label the API server puts on every
// Namespace: its name.
const LabelNamespaceName = "kubernetes.io/metadata.name"

// NamespaceLabels are the labels of namespace name, from the plan's
// Namespaces (nil when it has none), with kubernetes.io/metadata.name
// always set to name, as the API server sets it.
func NamespaceLabels(namespaces []Namespace, name string) map[string]string {
	out := map[string]string{}
	for i := range namespaces {
		if namespaces[i].Name == name {
			for k, v := range namespaces[i].Labels {
				out[k] = v
			}
			break
		}
	}
	out[LabelNamespaceName] = name
	return out
}
